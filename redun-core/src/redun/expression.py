"""Lazy expressions: what a task call, or an operation on one, *is*.

Calling a task builds a :class:`TaskExpression`; operators, indexing,
attribute access and calls on an expression build :class:`SimpleExpression`
nodes. Nothing runs until the scheduler evaluates the graph.
"""

from __future__ import annotations

import contextlib
import dataclasses
import operator
import pickle
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redun import nested
from redun.hashing import hash_struct
from redun.values import Value, get_type_name, get_value_hash

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

    def serialize(self) -> bytes:
        return pickle.dumps(self, protocol=3)

    def __reduce__(self) -> tuple:
        # Flatten the graph so deep chains pickle without deep recursion.
        return (_rebuild_graph, _flatten_graph(self))


def _child_expressions(expr: Expression) -> list[Expression]:
    if isinstance(expr, ValueExpression):
        return []
    return list(nested.iter_leaves((expr.args, expr.kwargs), is_expression))


def _topological(root: Expression) -> list[Expression]:
    """Every expression reachable from root, children before parents."""
    order: list[Expression] = []
    seen: set[int] = set()
    stack: list[tuple[Expression, bool]] = [(root, False)]
    while stack:
        expr, expanded = stack.pop()
        if expanded:
            order.append(expr)
            continue
        if id(expr) in seen:
            continue
        seen.add(id(expr))
        stack.append((expr, True))
        for child in _child_expressions(expr):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def _arg_hash(value: Any) -> str:
    """Hash an argument whose nested expressions already have their hashes."""
    if isinstance(value, Expression):
        assert value._hash is not None
        return value._hash
    if not nested.contains(value, is_expression):
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


class _Ref:
    """Placeholder for a sub-expression inside a flattened graph."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple:
        return (_Ref, (self.index,))


def _flatten_graph(root: Expression) -> tuple:
    order = _topological(root)
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

    def _own_hash(self) -> str:
        return hash_struct(["ValueExpression", get_value_hash(self.value)])

    def _node_parts(self) -> tuple:
        return ("value", self.value)

    def __setstate__(self, state: dict) -> None:  # redun 0.4x pickles
        from redun.values import deserialize_value

        self.value = deserialize_value(state["value_type"], state["value"])


class ApplyExpression(Expression):
    """An expression that applies something to arguments."""

    args: tuple
    kwargs: dict

    def __setstate__(self, state: dict) -> None:  # redun 0.4x pickles
        args, kwargs = state["args"], state["kwargs"]
        self.args = pickle.loads(args) if isinstance(args, bytes) else args
        self.kwargs = pickle.loads(kwargs) if isinstance(kwargs, bytes) else kwargs


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
        self._options = options or {}
        self._length = length
        self._task = task

    @property
    def task(self) -> Task:
        if self._task is None:
            from redun.task import get_task_registry

            task = get_task_registry().get_or_raise(self.task_name)
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
        return hash_struct(["TaskExpression", self.task_name, args, kwargs, options])

    def _node_parts(self) -> tuple:
        return ("task", self.task_name, self.args, self.kwargs, self._options, self._length)

    def __setstate__(self, state: dict) -> None:  # redun 0.4x pickles
        super().__setstate__(state)
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

    def __setstate__(self, state: dict) -> None:  # redun 0.4x pickles
        super().__setstate__(state)
        self.func_name = state["func_name"]


_NODE_BUILDERS = {
    "value": ValueExpression,
    "task": TaskExpression,
    "scheduler": SchedulerExpression,
    "simple": SimpleExpression,
}
