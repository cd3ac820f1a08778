"""Lazy expressions: what a task call, or an operation on one, *is*.

Calling a task builds a :class:`TaskExpression`; operators, indexing,
attribute access and calls on an expression build :class:`SimpleExpression`
nodes. Nothing runs until the scheduler evaluates the graph.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import operator
import pickle
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redun import nested
from redun.hashing import hash_call_expression, hash_struct, pickle_dumps
from redun.values import (
    Value,
    deserialize_value,
    get_type_name,
    get_value_hash,
    serialize_value,
)

if TYPE_CHECKING:
    from redun.task import Task


def is_expression(value: Any) -> bool:
    return isinstance(value, Expression)


_ATOMS = frozenset({int, float, str, bytes, bool, type(None), complex})


def has_expression(value: Any, _depth: int = 0) -> bool:
    """Whether an expression is nested anywhere in ``value`` (fast for flat values)."""
    cls = type(value)
    if cls in _ATOMS:
        return False
    if isinstance(value, Expression):
        return True
    if _depth < 32 and (cls is tuple or cls is list):
        for item in value:
            if type(item) not in _ATOMS and has_expression(item, _depth + 1):
                return True
        return False
    if _depth < 32 and cls is dict:
        for item in value.values():
            if type(item) not in _ATOMS and has_expression(item, _depth + 1):
                return True
        return False
    return nested.contains(value, is_expression)


class Expression(Value):
    """Base class of every lazy value."""

    type_name = "redun.expression.Expression"
    _hash: str | None = None

    # Lazy operators -------------------------------------------------------
    def __getattr__(self, name: str) -> SimpleExpression:
        if name.startswith("_"):
            raise AttributeError(name)
        return SimpleExpression("getattr", (self, name))

    def __getitem__(self, key: Any) -> SimpleExpression:
        return SimpleExpression("getitem", (self, key))

    def __call__(self, *args: Any, **kwargs: Any) -> SimpleExpression:
        return SimpleExpression("call", (self, args, kwargs))

    def __bool__(self) -> bool:
        raise TypeError(
            f"Expression {self!r} is lazy and has no truth value yet. To branch on a task's "
            "result, pass it to another task (or use redun.cond)."
        )

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"Expression {self!r} cannot be iterated. Pass it to a task, or declare the task's "
            "number of outputs with @task(nout=N) to unpack it."
        )

    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> SimpleExpression:  # type: ignore[override]
        return SimpleExpression("eq", (self, other))

    def __ne__(self, other: Any) -> SimpleExpression:  # type: ignore[override]
        return SimpleExpression("ne", (self, other))

    def __lt__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("lt", (self, other))

    def __le__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("le", (self, other))

    def __gt__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("gt", (self, other))

    def __ge__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("ge", (self, other))

    def __add__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("add", (self, other))

    def __radd__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("add", (other, self))

    def __sub__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("sub", (self, other))

    def __rsub__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("sub", (other, self))

    def __mul__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("mul", (self, other))

    def __rmul__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("mul", (other, self))

    def __truediv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("div", (self, other))

    def __rtruediv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("div", (other, self))

    def __and__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("and", (self, other))

    def __rand__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("and", (other, self))

    def __or__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("or", (self, other))

    def __ror__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("or", (other, self))

    # Hashing and storage ---------------------------------------------------
    def get_hash(self, data: bytes | None = None) -> str:
        if self._hash is None:
            _hash_graph(self)
        assert self._hash is not None
        return self._hash

    def _own_hash(self) -> str:
        raise NotImplementedError

    def _node_parts(self) -> tuple:
        raise NotImplementedError

    def _legacy_state(self) -> dict:
        """This node's pickle state in redun 0.44.1's layout."""
        return {}

    def serialize(self) -> bytes:
        return pickle_dumps(self)

    def __reduce__(self) -> tuple:
        return _reduce_expression(self)


def holds_expression(args: tuple, kwargs: dict) -> bool:
    """Whether call arguments hold an expression anywhere (quick for atomic arguments)."""
    for arg in args:
        if type(arg) not in _ATOMS and has_expression(arg):
            return True
    for arg in kwargs.values():
        if type(arg) not in _ATOMS and has_expression(arg):
            return True
    return False


def _child_expressions(expr: Expression) -> list[Expression]:
    if isinstance(expr, ValueExpression):
        return []
    args, kwargs = expr.args, expr.kwargs
    if not holds_expression(args, kwargs):  # (most calls: quick to tell)
        return []
    return list(nested.iter_leaves((args, kwargs), is_expression))


def _topological(root: Expression) -> list[Expression]:
    """Every expression reachable from root, children before parents (depth first, last
    child first; a node without children is placed as soon as it is reached)."""
    order: list[Expression] = []
    seen = {id(root)}
    stack = [(root, _child_expressions(root))]
    while stack:
        expr, children = stack[-1]
        if not children:
            stack.pop()
            order.append(expr)
            continue
        child = children.pop()
        if id(child) in seen:
            continue
        seen.add(id(child))
        grandchildren = _child_expressions(child)
        if grandchildren:
            stack.append((child, grandchildren))
        else:
            order.append(child)
    return order


def _arg_hash(value: Any) -> str:
    """Hash an argument whose nested expressions already have their hashes."""
    if isinstance(value, Expression):
        assert value._hash is not None
        return value._hash
    if not has_expression(value):
        return get_value_hash(value)
    # A container holding expressions: hash its shape from its children's hashes,
    # with dict and set members sorted so no ordering or memory address leaks in.
    type_name = get_type_name(value)
    if isinstance(value, dict):
        items = sorted([get_value_hash(k), _arg_hash(v)] for k, v in value.items())
        return hash_struct(["Nested", type_name, "dict", items])
    if isinstance(value, (set, frozenset)):
        return hash_struct(["Nested", type_name, "set", sorted(_arg_hash(v) for v in value)])
    if isinstance(value, (list, tuple)):
        return hash_struct(["Nested", type_name, "seq", [_arg_hash(v) for v in value]])
    fields = {f.name: _arg_hash(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return hash_struct(["Nested", type_name, "fields", fields])


def _hash_graph(root: Expression) -> None:
    for expr in _topological(root):
        if expr._hash is None:
            expr._hash = expr._own_hash()


_MAX_REPR_DEPTH = 8
_repr_state = threading.local()


@contextlib.contextmanager
def _repr_level() -> Iterator[bool]:
    """Track nesting while rendering reprs; yields True once it is too deep to show."""
    depth = getattr(_repr_state, "depth", 0)
    _repr_state.depth = depth + 1
    try:
        yield depth >= _MAX_REPR_DEPTH
    finally:
        _repr_state.depth = depth


# Storage -----------------------------------------------------------------------
# An expression pickles in redun 0.44.1's layout (copyreg, one state dict per node, with
# the arguments as nested pickles), so redun 0.44.1 can read the records we write. That
# layout recurses once per level and writes a node once per parent, so a graph deeper than
# _LEGACY_MAX_DEPTH, or one whose shared nodes would be written too many extra times, is
# stored as a flat node table instead (which redun 0.44.1, limited to shallow graphs, never
# needs to read).

_LEGACY_MAX_DEPTH = 100
_LEGACY_MAX_COPIES = 10_000
_EMPTY_DICT_PICKLE = pickle_dumps({})  # (most calls' kwargs, pickled once)
# Extra state key (ignored by redun 0.44.1): numbers a node written under several parents,
# so that reading it back yields one shared object again.
_GRAPH_NODE = "graph_node"
_storage = threading.local()


def _distinct_children(value: Any) -> list[Expression]:
    """Expressions nested in one pickled argument container, each once."""
    if not has_expression(value):
        return []
    found = {id(e): e for e in nested.iter_leaves(value, is_expression)}
    return list(found.values())


def _argument_slots(expr: Expression) -> list[list[Expression]]:
    """A node's children per nested pickle it writes (args, kwargs)."""
    if isinstance(expr, ApplyExpression) and holds_expression(expr.args, expr.kwargs):
        return [_distinct_children(expr.args), _distinct_children(expr.kwargs)]
    return []


class _LegacyWriter:
    """Builds redun 0.44.1 state dicts for every node of one graph being pickled."""

    def __init__(self, nodes: list[Expression], shared: list[Expression], first_mark: int) -> None:
        self.nodes = {id(expr): expr for expr in nodes}
        self.marks = {id(expr): first_mark + number for number, expr in enumerate(shared)}
        # Marks are unique across one outermost pickle, graphs hidden in opaque values included.
        self.next_mark = first_mark + len(shared)
        self.states: dict[int, dict] = {}

    def owns(self, expr: Expression) -> bool:
        return self.nodes.get(id(expr)) is expr

    def state(self, expr: Expression) -> dict:
        state = self.states.get(id(expr))
        if state is None:
            state = expr._legacy_state()
            mark = self.marks.get(id(expr))
            if mark is not None:
                state[_GRAPH_NODE] = mark
            self.states[id(expr)] = state
        return state


def _plan_legacy(order: list[Expression], first_mark: int) -> _LegacyWriter | None:
    """A writer for the graph in ``order`` (children first); None if it needs the flat table."""
    depths: dict[int, int] = {}
    written: dict[int, int] = {}  # how many nodes the legacy layout writes for each subtree
    parents: dict[int, int] = {}
    cap = len(order) + _LEGACY_MAX_COPIES + 1
    for expr in order:
        depth = size = 1
        for slot in _argument_slots(expr):
            for child in slot:
                key = id(child)
                depth = max(depth, depths[key] + 1)
                size += written[key]
                parents[key] = parents.get(key, 0) + 1
        if depth > _LEGACY_MAX_DEPTH:
            return None
        depths[id(expr)] = depth
        written[id(expr)] = min(size, cap)
    if written[id(order[-1])] - len(order) > _LEGACY_MAX_COPIES:
        return None
    shared = [expr for expr in order if parents.get(id(expr), 0) > 1]
    return _LegacyWriter(order, shared, first_mark)


def _reduce_expression(expr: Expression) -> tuple:
    writer: _LegacyWriter | None = getattr(_storage, "writer", None)
    if writer is not None and writer.owns(expr):
        return (copyreg.__newobj__, (type(expr),), writer.state(expr))
    # A new graph to pickle (possibly one hidden inside an opaque argument).
    order = _topological(expr)
    planned = _plan_legacy(order, 0 if writer is None else writer.next_mark)
    if planned is None:
        return (_rebuild_graph, _flatten_graph(order))
    _storage.writer = planned
    try:
        return (copyreg.__newobj__, (type(expr),), planned.state(expr))
    finally:
        _storage.writer = writer
        if writer is not None:
            writer.next_mark = planned.next_mark


class _LegacyReader:
    """Joins the copies of shared nodes while one redun 0.44.1-layout pickle is read."""

    def __init__(self) -> None:
        self.marked: dict[int, tuple[Expression, int]] = {}
        self.first: dict[int, Expression] = {}

    def register(self, expr: Expression, mark: int | None) -> None:
        if mark is not None:
            self.marked[id(expr)] = (expr, mark)
            self.first.setdefault(mark, expr)

    def _original(self, expr: Expression) -> Expression | None:
        entry = self.marked.get(id(expr))
        if entry is None or entry[0] is not expr:
            return None
        original = self.first[entry[1]]
        return None if original is expr else original

    def join_copies(self, value: Any) -> Any:
        """``value`` with every copy of a shared node replaced by its first copy."""
        if not self.marked or not any(
            self._original(e) is not None for e in nested.iter_leaves(value, is_expression)
        ):
            return value

        def first_copy(expr: Expression) -> Expression:
            original = self._original(expr)
            return expr if original is None else original

        return nested.map_nested(value, is_expression, first_copy)


class _legacy_reading:  # noqa: N801 (used as a function: ``with _legacy_reading() as r``)
    """The reader of the outermost expression being unpickled on this thread.

    A class, not a generator: it is entered once per expression unpickled.
    """

    __slots__ = ("_outermost",)

    def __enter__(self) -> _LegacyReader:
        reader = getattr(_storage, "reader", None)
        self._outermost = reader is None
        if reader is None:
            reader = _storage.reader = _LegacyReader()
        return reader

    def __exit__(self, *exc_info: object) -> None:
        if self._outermost:
            _storage.reader = None


class _Ref:
    """Placeholder for a sub-expression inside a flattened graph."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple:
        return (_Ref, (self.index,))


def _flatten_graph(order: list[Expression]) -> tuple:
    index = {id(expr): i for i, expr in enumerate(order)}

    def to_ref(expr: Expression) -> _Ref:
        return _Ref(index[id(expr)])

    nodes = []
    for expr in order:
        kind, *parts = expr._node_parts()
        if kind != "value":
            parts[1] = nested.map_nested(parts[1], is_expression, to_ref)
            parts[2] = nested.map_nested(parts[2], is_expression, to_ref)
        nodes.append((kind, *parts))
    return (nodes,)


def _rebuild_graph(nodes: list[tuple]) -> Expression:
    """Unpickle a flat node table (children first) back into an expression graph."""
    built: list[Expression] = []

    def from_ref(ref: _Ref) -> Expression:
        return built[ref.index]

    def is_ref(value: Any) -> bool:
        return isinstance(value, _Ref)

    for kind, *parts in nodes:
        if kind != "value":
            parts[1] = nested.map_nested(parts[1], is_ref, from_ref)
            parts[2] = nested.map_nested(parts[2], is_ref, from_ref)
        built.append(_NODE_BUILDERS[kind](*parts))
    return built[-1]


class ValueExpression(Expression):
    """A concrete value lifted into an expression."""

    type_name = "redun.expression.ValueExpression"

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"ValueExpression({self.value!r})"

    def iter_subvalues(self) -> Iterator[Any]:
        return iter((self.value,))

    def _own_hash(self) -> str:
        return hash_struct(["ValueExpression", get_value_hash(self.value)])

    def _node_parts(self) -> tuple:
        return ("value", self.value)

    def _legacy_state(self) -> dict:
        return {"value_type": get_type_name(self.value), "value": serialize_value(self.value)}

    def __setstate__(self, state: dict) -> None:  # redun 0.4x layout
        with _legacy_reading() as reader:
            self.value = deserialize_value(state["value_type"], state["value"])
            reader.register(self, state.get(_GRAPH_NODE))


class ApplyExpression(Expression):
    """An expression that applies something to arguments."""

    args: tuple
    kwargs: dict

    def iter_subvalues(self) -> Iterator[Any]:
        """The arguments: a cached expression is valid only while its arguments are."""
        yield from self.args
        yield from self.kwargs.values()

    def __setstate__(self, state: dict) -> None:  # redun 0.4x layout
        reader = getattr(_storage, "reader", None)
        if reader is None:  # the outermost expression of a pickle: its reader lives as long
            with _legacy_reading():
                ApplyExpression.__setstate__(self, state)
            return
        args, kwargs = state["args"], state["kwargs"]
        if type(args) is bytes:  # (nested pickles, read within this one)
            args = pickle.loads(args)
        if type(kwargs) is bytes:
            kwargs = {} if kwargs == _EMPTY_DICT_PICKLE else pickle.loads(kwargs)
        if reader.marked:
            args, kwargs = reader.join_copies(args), reader.join_copies(kwargs)
        self.args, self.kwargs = args, kwargs
        mark = state.get(_GRAPH_NODE)
        if mark is not None:
            reader.register(self, mark)


class TaskExpression(ApplyExpression):
    """A lazy call of a task: ``task(*args, **kwargs)``."""

    type_name = "redun.expression.TaskExpression"

    def __init__(
        self,
        task_name: str,
        args: tuple,
        kwargs: dict,
        options: dict | None = None,
        length: int | None = None,
        task: Task | None = None,
    ) -> None:
        self.task_name = task_name
        self.args = args
        self.kwargs = kwargs
        self._options = options if options is not None else {}
        self._length = length
        self._task = task

    @property
    def task(self) -> Task:
        if self._task is None:
            task = _task_registry().get_or_raise(self.task_name)
            # Call-time overrides travel with the expression (e.g. across a pickle).
            self._task = task.options(**self._options) if self._options else task
        return self._task

    def __repr__(self) -> str:
        with _repr_level() as too_deep:
            if too_deep:
                return f"{self.task_name}(...)"
            parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
            return f"{self.task_name}({', '.join(parts)})"

    def __iter__(self) -> Iterator[Any]:
        if self._length is None:
            return super().__iter__()
        return (self[i] for i in range(self._length))

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(f"{self!r} has no known length; declare @task(nout=N)")
        return self._length

    def _own_hash(self) -> str:
        args = [_arg_hash(a) for a in self.args]
        kwargs = {k: _arg_hash(v) for k, v in self.kwargs.items()}
        options = {k: _arg_hash(v) for k, v in sorted(self._options.items())}
        return hash_call_expression("TaskExpression", self.task_name, args, kwargs, options)

    def _node_parts(self) -> tuple:
        return ("task", self.task_name, self.args, self.kwargs, self._options, self._length)

    def _legacy_state(self) -> dict:
        kwargs = self.kwargs
        return {
            "task_name": self.task_name,
            "args": pickle_dumps(self.args),
            "kwargs": pickle_dumps(kwargs) if kwargs else _EMPTY_DICT_PICKLE,
            "task_options": dict(self._options),
            "export_options": set(),
            "length": self._length,
        }

    def __setstate__(self, state: dict) -> None:  # redun 0.4x layout
        ApplyExpression.__setstate__(self, state)
        self.task_name = state["task_name"]
        self._options = state.get("task_options") or {}
        self._length = state.get("length")
        self._task = None


class SchedulerExpression(TaskExpression):
    """A call of a scheduler task: its arguments arrive unevaluated."""

    type_name = "redun.expression.SchedulerExpression"

    def _own_hash(self) -> str:
        return hash_struct(["SchedulerExpression", super()._own_hash()])

    def _node_parts(self) -> tuple:
        return ("scheduler", self.task_name, self.args, self.kwargs, self._options, self._length)


_OPERATORS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "and": operator.and_,
    "or": operator.or_,
    "getitem": operator.getitem,
    "getattr": getattr,
    "call": lambda func, args, kwargs: func(*args, **kwargs),
    # Reflected forms, as stored by redun 0.4x: args are (self, other).
    "radd": lambda a, b: b + a,
    "rsub": lambda a, b: b - a,
    "rmul": lambda a, b: b * a,
    "rdiv": lambda a, b: b / a,
    "rand": lambda a, b: b & a,
    "ror": lambda a, b: b | a,
}


class SimpleExpression(ApplyExpression):
    """An operation on expressions (``a + b``, ``a[k]``, ``a.attr``, ``a(x)``)."""

    type_name = "redun.expression.SimpleExpression"

    def __init__(self, func_name: str, args: tuple = (), kwargs: dict | None = None) -> None:
        self.func_name = func_name
        self.args = args
        self.kwargs = kwargs or {}

    def __repr__(self) -> str:
        with _repr_level() as too_deep:
            args = "..." if too_deep else ", ".join(repr(a) for a in self.args)
            return f"SimpleExpression({self.func_name!r}, ({args}))"

    def apply(self, args: tuple, kwargs: dict) -> Any:
        """Compute the operation on concrete arguments."""
        return _OPERATORS[self.func_name](*args, **kwargs)

    def _own_hash(self) -> str:
        args = [_arg_hash(a) for a in self.args]
        kwargs = {k: _arg_hash(v) for k, v in self.kwargs.items()}
        return hash_struct(["SimpleExpression", self.func_name, args, kwargs])

    def _node_parts(self) -> tuple:
        return ("simple", self.func_name, self.args, self.kwargs)

    def _legacy_state(self) -> dict:
        return {
            "func_name": self.func_name,
            "args": pickle_dumps(self.args),
            "kwargs": pickle_dumps(self.kwargs),
        }

    def __setstate__(self, state: dict) -> None:  # redun 0.4x layout
        super().__setstate__(state)
        self.func_name = state["func_name"]


_NODE_BUILDERS = {
    "value": ValueExpression,
    "task": TaskExpression,
    "scheduler": SchedulerExpression,
    "simple": SimpleExpression,
}


_registry: Any = None


def _task_registry() -> Any:
    """The task registry (found once: redun.task imports this module; unpickled
    expressions of a big fan-out each look their task up)."""
    global _registry
    if _registry is None:
        from redun.task import get_task_registry

        _registry = get_task_registry()
    return _registry
