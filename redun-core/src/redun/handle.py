"""Handles: values that stand for the state of an external service (a database, an API).

A service cannot be hashed like a file, so a handle is identified causally: first by
its name and constructor arguments, then by the calls it has passed through. A handle
passed to a task is forked for that call, and the handle the task returns is advanced
past the call (its hash derives from the call's eval hash). A cached result holding a
handle is reused only while the record still marks that handle state valid.

Only the constructor arguments are pickled; unpickling calls ``__init__`` with them
again, so connections and clients are never stored.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from redun.hashing import hash_struct
from redun.task import NAMESPACE_PATTERN, get_current_namespace, scheduler_task
from redun.values import Value, get_value_hash, register_batch_check

if TYPE_CHECKING:
    from redun.expression import SchedulerExpression
    from redun.promise import Promise
    from redun.scheduler import Job, Scheduler

# Whether this process has made (or unpickled) a handle: until then the scheduler skips
# looking for handles in arguments and results.
_in_use = False


def handles_in_use() -> bool:
    """Whether any handle exists in this process."""
    return _in_use


class HandleError(ValueError):
    """A handle was built or combined the wrong way."""


class HandleInfo:
    """A handle's identity: name, constructor arguments, and place in its causal history.

    ``call_hash`` is empty for a handle made by its constructor; otherwise it is the
    hash of the handle (fork) or call (eval hash) this state follows, and ``key`` names
    the fork.
    """

    __slots__ = (
        "name",
        "namespace",
        "args",
        "kwargs",
        "class_name",
        "call_hash",
        "key",
        "hash",
        "fork_parent",
    )

    def __init__(
        self,
        name: str,
        args: tuple,
        kwargs: dict,
        class_name: str,
        namespace: str = "",
        call_hash: str = "",
        key: str = "",
        hash: str | None = None,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.args = args
        self.kwargs = kwargs
        self.class_name = class_name
        self.call_hash = call_hash
        self.key = key
        self.fork_parent: Handle | None = None  # a user fork's origin, until recorded
        self.hash = hash or self._calc_hash()

    @property
    def fullname(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def _calc_hash(self) -> str:
        if self.call_hash:
            return hash_struct(["Handle", self.fullname, "call_hash", self.key, self.call_hash])
        return hash_struct(
            [
                "Handle",
                self.fullname,
                "init",
                self.key,
                [get_value_hash(arg) for arg in self.args],
                {key: get_value_hash(value) for key, value in self.kwargs.items()},
            ]
        )

    def derive(self, call_hash: str, key: str) -> HandleInfo:
        """The identity of the state that follows ``call_hash`` (under fork ``key``)."""
        # Fresh argument containers: a list of handles then pickles (and so hashes) as in
        # redun 0.4x, where each derived handle holds its own copies.
        args, kwargs = (*self.args,), dict(self.kwargs)
        return HandleInfo(self.name, args, kwargs, self.class_name, self.namespace, call_hash, key)

    def get_state(self) -> dict[str, Any]:
        """What a handle pickles (the same keys as redun 0.4x)."""
        return {
            "name": self.name,
            "namespace": self.namespace,
            "args": self.args,
            "kwargs": self.kwargs,
            "class_name": self.class_name,
            "call_hash": self.call_hash,
            "key": self.key,
            "hash": self.hash,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HandleInfo:
        return cls(
            state["name"],
            tuple(state.get("args", ())),
            dict(state.get("kwargs", {})),
            state.get("class_name", ""),
            state.get("namespace") or "",
            state.get("call_hash", ""),
            state.get("key", ""),
            state.get("hash"),
        )


def _namespace_for(cls: type, namespace: str | None) -> str:
    """Explicit namespace, else the class module's ``redun_namespace``, else the current one."""
    if namespace is None:
        module = sys.modules.get(cls.__module__)
        namespace = getattr(module, "redun_namespace", None) or get_current_namespace()
    if namespace and not NAMESPACE_PATTERN.fullmatch(namespace):
        raise HandleError(f"invalid handle namespace {namespace!r}: use letters, digits, '_', '.'")
    return namespace or ""


class Handle(Value):
    """A value standing for a stateful service; subclass it to wrap a connection or client.

    Subclasses define ``__init__(self, name, *args, **kwargs)``; ``name`` and the
    arguments are the handle's identity and all that is pickled. Attributes the
    handle lacks are looked up on ``self.instance`` when it is set.
    """

    type_name = "redun.Handle"
    __handle__: HandleInfo

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "type_name" not in cls.__dict__:
            cls.type_name = f"{cls.__module__}.{cls.__qualname__}"
        super().__init_subclass__(**kwargs)
        register_batch_check(cls, check_handles)

    def __new__(
        cls, name: str | None = None, *args: Any, namespace: str | None = None, **kwargs: Any
    ) -> Handle:
        global _in_use
        handle = super().__new__(cls)
        if name is not None:  # None: being unpickled (__setstate__ restores the identity)
            if not isinstance(name, str) or not name:
                raise HandleError(
                    f"{cls.__name__}: a handle's name must be a non-empty string, got {name!r}"
                )
            handle.__handle__ = HandleInfo(
                name, args, kwargs, _class_name(cls), _namespace_for(cls, namespace)
            )
        _in_use = True
        return handle

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # Identity --------------------------------------------------------------------------
    def get_hash(self, data: bytes | None = None) -> str:
        return self.__handle__.hash

    def __getstate__(self) -> dict[str, Any]:
        return self.__handle__.get_state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        global _in_use
        info = HandleInfo.from_state(state)
        self.__handle__ = info
        _in_use = True
        self.__init__(info.name, *info.args, **info.kwargs)  # type: ignore[misc]

    def __getattr__(self, attr: str) -> Any:
        if not attr.startswith("__") and attr != "instance":
            try:
                instance = object.__getattribute__(self, "instance")
            except AttributeError:
                pass
            else:
                return getattr(instance, attr)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def __repr__(self) -> str:
        info = self.__handle__
        return f"{info.class_name}(fullname={info.fullname}, hash={info.hash[:8]})"

    # Causal history ----------------------------------------------------------------------
    def _derive(self, call_hash: str, key: str) -> Handle:
        handle = object.__new__(type(self))
        handle.__dict__.update(self.__dict__)  # shares the live connection, if any
        handle.__handle__ = self.__handle__.derive(call_hash, key)
        return handle

    def fork(self, key: str) -> Handle:
        """A branch of this handle for parallel work; ``key`` tells sibling branches apart."""
        if not isinstance(key, str) or not key:
            raise HandleError(f"fork(): the key must be a non-empty string, got {key!r}")
        handle = self._derive(self.__handle__.hash, key)
        handle.__handle__.fork_parent = self
        return handle

    def apply_call(self, call_hash: str) -> Handle:
        """The state of this handle after the call ``call_hash``."""
        return self._derive(call_hash, "")

    def preprocess(self, preprocess_args: dict) -> Handle:
        """The handle a task receives: forked by its ``call_order`` among the caller's calls.

        A handle that is already a fork keeps its key.
        """
        key = self.__handle__.key or str(preprocess_args["call_order"])
        return self._derive(self.__handle__.hash, key)

    def postprocess(self, postprocess_args: dict) -> Handle:
        """The handle a task returns: advanced past the call (its ``pre_call_hash``)."""
        return self.apply_call(postprocess_args["pre_call_hash"])

    def is_valid(self) -> bool:
        """Whether the running scheduler's record still marks this handle state valid."""
        return check_handles([self])[0]


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def check_handles(handles: list[Handle]) -> list[bool]:
    """``[h.is_valid() for h in handles]`` with one query to the running scheduler's record."""
    from redun.scheduler.core import get_current_scheduler

    scheduler = get_current_scheduler()
    if scheduler is None:
        raise HandleError(
            "a handle's validity is kept in the redun record: check it while a scheduler runs"
        )
    valid = scheduler.backend.get_valid_handles([h.__handle__.hash for h in handles])
    return [h.__handle__.hash in valid for h in handles]


register_batch_check(Handle, check_handles)


@scheduler_task(namespace="redun")
def merge_handles(
    scheduler: Scheduler,
    parent_job: Job | None,
    sexpr: SchedulerExpression,
    handles_expr: list[Handle],
) -> Promise:
    """Join branches of one service into one handle: the first, recorded as following the rest.

    Use it after forked branches (``handle.fork(key)``) have each been written to, so the
    next step depends on all of them.
    """

    def merge(handles: Any) -> Handle:
        if not isinstance(handles, (list, tuple)) or not handles:
            raise HandleError(f"merge_handles() takes a non-empty list of handles, got {handles!r}")
        bad = [h for h in handles if not isinstance(h, Handle)]
        if bad:
            raise HandleError(f"merge_handles() takes only handles, got {bad[0]!r}")
        names = sorted({h.__handle__.name for h in handles})
        if len(names) > 1:
            raise HandleError(
                f"merge_handles() joins branches of one handle, got handles named {names}; "
                "merge only forks of the same handle"
            )
        first = handles[0]
        scheduler.handles.record(first, handles[1:])
        return first

    return scheduler.evaluate(handles_expr, parent_job).then(merge)
