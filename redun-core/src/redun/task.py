"""Tasks: the functions of redun, their namespaces and the task registry."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from redun.expression import SchedulerExpression, TaskExpression
from redun.hashing import hash_arguments, hash_struct
from redun.values import MemoizedHashValue, Value, get_value_hash, hash_function

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")

_current_namespace: list[str] = []


def get_current_namespace() -> str:
    """The namespace set by the innermost ``with redun.namespace(...)`` block."""
    return _current_namespace[-1] if _current_namespace else ""


@contextlib.contextmanager
def namespace(name: str = "") -> Iterator[None]:
    """Give tasks defined inside the block this namespace (unless they say otherwise)."""
    if name and not NAMESPACE_PATTERN.fullmatch(name):
        raise ValueError(f"invalid namespace {name!r}: use letters, digits, '_' and '.'")
    _current_namespace.append(name)
    try:
        yield
    finally:
        _current_namespace.pop()


def get_func_source(func: Callable) -> str:
    """A function's source without its decorator lines, indentation kept."""
    try:
        lines = inspect.getsourcelines(func)[0]
    except (OSError, TypeError):
        return ""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("def ") or stripped.startswith("async def "):
            return "".join(lines[i:])
    return "".join(lines)


class TaskRegistry:
    """Every task defined in this process, by full name."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def add(self, task: Task) -> None:
        self._tasks[task.fullname] = task

    def get(self, fullname: str) -> Task | None:
        return self._tasks.get(fullname)

    def get_or_raise(self, fullname: str) -> Task:
        task = self._tasks.get(fullname)
        if task is None:
            raise LookupError(f"unknown task {fullname!r}: is the module that defines it imported?")
        return task

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)


_registry = TaskRegistry()


def get_task_registry() -> TaskRegistry:
    return _registry


# Options that are about the task's definition rather than how it runs.
_DEFINITION_KEYS = {"name", "namespace", "version", "hash_includes", "source"}


class Task(MemoizedHashValue):
    """A function whose calls are lazy, memoized and recorded.

    Build one with the :func:`task` decorator. Calling it returns a
    :class:`~redun.expression.TaskExpression`.
    """

    type_name = "redun.Task"

    def __init__(
        self,
        func: Callable,
        name: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        hash_includes: list | None = None,
        source: str | None = None,
        compat: list | None = None,
        **options: Any,
    ) -> None:
        self.func = func
        self.name = name or func.__name__
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"invalid task name {self.name!r}: use letters, digits and '_'")
        if namespace is None:
            module = sys.modules.get(func.__module__)
            namespace = getattr(module, "redun_namespace", None) or get_current_namespace()
        if namespace and not NAMESPACE_PATTERN.fullmatch(namespace):
            raise ValueError(f"invalid namespace {namespace!r}: use letters, digits, '_' and '.'")
        self.namespace = namespace or ""
        self.version = version
        self.hash_includes = list(hash_includes or [])
        for value in self.hash_includes:
            # Pin included functions to the source loaded now, as the task's own source is.
            if inspect.isfunction(value):
                hash_function(value)
        self.compat = list(compat or [])
        if source is not None or version is None:
            # The source is part of the hash: read it now, so it is the code that was loaded.
            self._source: str | None = source if source is not None else get_func_source(func)
        else:
            self._source = None  # a versioned task: its source is only recorded, read on use
        self.task_options = options
        self.nout: int | None = options.get("nout")
        if self.nout is not None and (not isinstance(self.nout, int) or self.nout < 0):
            raise ValueError(f"task {self.name}: nout must be a non-negative int")
        self._overrides: dict[str, Any] = {}
        self._hash: str | None = None
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    # Identity ----------------------------------------------------------------
    @property
    def source(self) -> str:
        """The function's source (without decorators), as recorded in the task table."""
        if self._source is None:
            self._source = get_func_source(self.func)
        return self._source

    @source.setter
    def source(self, value: str) -> None:
        self._source = value

    @property
    def fullname(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def _calc_hash(self) -> str:
        if self.compat:
            # redun 0.4x: an explicit compat hash pins the task hash.
            return self.compat[0]
        if self.version is None:
            struct: list = ["Task", self.fullname, "source", self.source]
        else:
            struct = ["Task", self.fullname, "version", self.version]
        struct += sorted(_hash_include(v) for v in self.hash_includes)
        if self._overrides:
            # As redun 0.4x: the hash of the override dict joins the struct.
            struct.append(get_value_hash(self._overrides))
        return hash_struct(struct)

    def __repr__(self) -> str:
        return f"Task(fullname={self.fullname}, hash={self.hash[:8]})"

    # Options -----------------------------------------------------------------
    def get_option(self, key: str, default: Any = None) -> Any:
        if key in self._overrides:
            return self._overrides[key]
        return self.task_options.get(key, default)

    def has_option(self, key: str) -> bool:
        return key in self._overrides or key in self.task_options

    @property
    def all_options(self) -> dict[str, Any]:
        return {**self.task_options, **self._overrides}

    def options(self, **overrides: Any) -> Task:
        """A copy of this task with call-time option overrides (they join its hash)."""
        bad = _DEFINITION_KEYS.intersection(overrides)
        if bad:
            raise ValueError(f"task option(s) {sorted(bad)} cannot be overridden at call time")
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._overrides = {**self._overrides, **overrides}
        clone.nout = clone._overrides.get("nout", self.nout)
        clone._hash = None
        return clone

    def update_context(self, context: dict | None = None, **values: Any) -> Task:
        """A copy of this task whose calls (and everything below them) see ``context``
        (and ``values``) merged over the context they inherit."""
        from redun.context import merge_dicts

        previous = self._overrides.get("_context_override", {})
        return self.options(_context_override=merge_dicts([previous, context or {}, values]))

    def partial(self, *args: Any, **kwargs: Any) -> PartialTask:
        """Fix some arguments now; the rest come when the partial task is called."""
        return PartialTask(self, args, kwargs)

    # Calling -----------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> TaskExpression:
        expr_class = SchedulerExpression if self.task_options.get("scheduler") else TaskExpression
        return expr_class(self.fullname, args, kwargs, self._overrides, self.nout, self)

    @property
    def is_scheduler_task(self) -> bool:
        return bool(self.task_options.get("scheduler"))

    def with_defaults(self, args: tuple, kwargs: dict) -> dict:
        """``kwargs`` plus the default of every parameter the call leaves out.

        redun hashes and records a call with its defaults filled in, so
        ``main()`` and ``main(greet="Hello")`` are the same call.
        """
        plan = self.__dict__.get("_default_plan")
        if plan is None:
            plan = self.__dict__["_default_plan"] = _default_plan(self.func)
        if not plan:
            return kwargs
        filled = None
        for index, name, default in plan:
            if index < len(args) or name in kwargs:
                continue
            if filled is None:
                filled = dict(kwargs)
            filled[name] = default
        return kwargs if filled is None else filled

    def args_hash(self, args: tuple, kwargs: dict) -> str:
        """Hash concrete call arguments, leaving out the task's ``config_args``."""
        config_args = self.get_option("config_args")
        if config_args:
            args, kwargs = _drop_config_args(self.func, config_args, args, kwargs)
        return hash_arguments(
            [get_value_hash(a) for a in args], {k: get_value_hash(v) for k, v in kwargs.items()}
        )

    # Storage -------------------------------------------------------------------
    def __reduce__(self) -> tuple:
        module = getattr(self.func, "__module__", "")
        path = getattr(sys.modules.get(module), "__file__", None)
        return (_load_task, (self.fullname, self.hash, module, path, self._overrides))

    def __setstate__(self, state: dict) -> None:  # redun 0.4x pickles
        found = _registry.get(
            state.get("namespace", "")
            and f"{state['namespace']}.{state['name']}"
            or state.get("name", "")
        )
        if found is None:
            raise LookupError(f"task {state.get('name')!r} is not defined in this process")
        self.__dict__.update(found.__dict__)


def _hash_include(value: Any) -> str:
    if callable(value) and not isinstance(value, Value) and inspect.isfunction(value):
        return hash_function(value)
    return get_value_hash(value)


def _default_plan(func: Callable) -> list[tuple[int, str, Any]]:
    """(position, name, default) of each parameter that has a default."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        (index, param.name, param.default)
        for index, param in enumerate(params)
        if param.default is not param.empty
        and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
    ]


def _drop_config_args(
    func: Callable, config_args: list[str], args: tuple, kwargs: dict
) -> tuple[tuple, dict]:
    positional_kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = inspect.signature(func).parameters.values()
    positional = [p.name for p in params if p.kind in positional_kinds]
    variadic = next((p.name for p in params if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    # Positional args beyond the named parameters belong to *args (if any).
    names = [positional[i] if i < len(positional) else variadic for i in range(len(args))]
    kept_args = tuple(a for a, n in zip(args, names) if n is None or n not in config_args)
    kept_kwargs = {k: v for k, v in kwargs.items() if k not in config_args}
    return kept_args, kept_kwargs


def import_path(path: str) -> Any:
    """Import a Python file by path (as ``redun run FILE`` does)."""
    import importlib.util
    import os

    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    module_name = os.path.splitext(filename)[0]
    existing = sys.modules.get(module_name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == path:
        return existing
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        # Compiled from the source every time, never from a cached .pyc: the code that runs
        # must be the code whose source the task hashes saw (a .pyc is trusted by mtime and
        # size, so an edit within the same second can leave a stale one in use).
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def import_module_or_file(module: str, path: str | None = None) -> Any:
    """Import ``module`` by name, else from its file ``path`` (a workflow file run by path)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if not path:
            raise
        return import_path(path)


def _load_task(
    fullname: str, task_hash: str, module: str, path: str | None, overrides: dict
) -> Task:
    task = _registry.get(fullname)
    if task is None:
        import_module_or_file(module, path)
        task = _registry.get_or_raise(fullname)
    return task.options(**overrides) if overrides else task


class PartialTask(Value):
    """A task with some arguments already given: a closure in the redun language."""

    type_name = "redun.PartialTask"

    def __init__(self, task: Task, args: tuple, kwargs: dict) -> None:
        self.task = task
        self.args = tuple(args)
        self.kwargs = dict(kwargs)

    @property
    def fullname(self) -> str:
        return self.task.fullname

    def partial(self, *args: Any, **kwargs: Any) -> PartialTask:
        return PartialTask(self.task, self.args + args, {**self.kwargs, **kwargs})

    def options(self, **overrides: Any) -> PartialTask:
        return PartialTask(self.task.options(**overrides), self.args, self.kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> TaskExpression:
        return self.task(*self.args, *args, **{**self.kwargs, **kwargs})

    def get_hash(self, data: bytes | None = None) -> str:
        # As redun 0.4x: every given argument counts here, config_args included.
        args_hash = hash_arguments(
            [get_value_hash(a) for a in self.args],
            {k: get_value_hash(v) for k, v in self.kwargs.items()},
        )
        return hash_struct(["PartialTask", self.task.hash, args_hash])

    def __repr__(self) -> str:
        return f"PartialTask({self.task.fullname}, args={self.args!r}, kwargs={self.kwargs!r})"


def task(
    func: Callable | None = None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    version: str | None = None,
    **options: Any,
) -> Any:
    """Turn a function into a :class:`Task`. Use bare (``@task``) or with options."""

    def deco(func: Callable) -> Task:
        new_task = Task(func, name=name, namespace=namespace, version=version, **options)
        _registry.add(new_task)
        return new_task

    return deco(func) if func is not None else deco


def scheduler_task(
    name: str | Callable | None = None,
    namespace: str | None = None,
    version: str = "1",
    **options: Any,
) -> Any:
    """Define a special form: ``func(scheduler, parent_job, sexpr, *args)`` gets its
    arguments unevaluated and returns a value, an expression or a Promise.

    Used bare (``@scheduler_task``) or with options (``@scheduler_task(name=...)``).
    """
    if callable(name):  # bare decorator: the function came in place of the name
        return scheduler_task()(name)

    def deco(func: Callable) -> Task:
        new_task = Task(
            func, name=name, namespace=namespace, version=version, scheduler=True, **options
        )
        _registry.add(new_task)
        return new_task

    return deco
