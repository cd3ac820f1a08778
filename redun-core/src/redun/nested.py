"""Walking values that nest inside containers: list, tuple, namedtuple, dict, set, dataclass."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

_LEAF_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


# How the values of a type nest: what kind_of answers.
LEAF, SEQUENCE, MAPPING, DATACLASS, OTHER = range(5)
_KINDS: dict[type, int] = {cls: LEAF for cls in _LEAF_TYPES}


def kind_of(cls: type) -> int:
    """How values of type ``cls`` nest: LEAF (a builtin scalar), SEQUENCE (list, tuple,
    namedtuple, set, frozenset), MAPPING (dict), DATACLASS (an instance) or OTHER."""
    kind = _KINDS.get(cls)
    if kind is None:
        if cls in (list, tuple, set, frozenset) or issubclass(cls, tuple):
            kind = SEQUENCE
        elif issubclass(cls, dict):
            kind = MAPPING
        elif dataclasses.is_dataclass(cls) and not issubclass(cls, type):
            kind = DATACLASS
        else:
            kind = OTHER
        if len(_KINDS) > 10_000:  # (classes made on the fly): start over, keep it small
            _KINDS.clear()
            _KINDS.update((leaf, LEAF) for leaf in _LEAF_TYPES)
        _KINDS[cls] = kind
    return kind


def children(value: Any) -> Iterator[Any] | None:
    """The direct children of a container value, or None for a leaf."""
    kind = _KINDS.get(type(value))
    if kind is None:
        kind = kind_of(type(value))
    if kind == SEQUENCE:
        return iter(value)
    if kind == MAPPING:
        return iter(value.values())
    if kind == DATACLASS:
        return (getattr(value, f.name) for f in dataclasses.fields(value))
    return None


def iter_leaves(value: Any, is_leaf: Callable[[Any], bool]) -> Iterator[Any]:
    """Yield every nested item for which ``is_leaf`` is true (not looking inside those)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if is_leaf(item):
            yield item
            continue
        kids = children(item)
        if kids is not None:
            stack.extend(kids)


def contains(value: Any, is_leaf: Callable[[Any], bool]) -> bool:
    """Whether any nested item satisfies ``is_leaf``."""
    return next(iter_leaves(value, is_leaf), None) is not None


def map_nested(value: Any, is_leaf: Callable[[Any], bool], fn: Callable[[Any], Any]) -> Any:
    """Rebuild ``value`` with every nested leaf replaced by ``fn(leaf)``.

    Containers without leaves are returned as they are (not copied).
    """
    if is_leaf(value):
        return fn(value)
    cls = type(value)
    if cls in _LEAF_TYPES:
        return value
    if cls is list:
        return [map_nested(v, is_leaf, fn) for v in value]
    if cls is tuple:
        return tuple(map_nested(v, is_leaf, fn) for v in value)
    if _is_namedtuple(value):
        return cls(*(map_nested(v, is_leaf, fn) for v in value))
    if isinstance(value, tuple):
        return cls(map_nested(v, is_leaf, fn) for v in value)
    if cls is set or cls is frozenset:
        return cls(map_nested(v, is_leaf, fn) for v in value)
    if isinstance(value, dict):
        if not contains(value, is_leaf):
            return value
        result = {k: map_nested(v, is_leaf, fn) for k, v in value.items()}
        if cls is dict:
            return result
        # Subclasses (OrderedDict, defaultdict, ...) keep their type and extra state.
        clone = copy.copy(value)
        clone.update(result)
        return clone
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not contains(value, is_leaf):
            return value
        changes = {
            f.name: map_nested(getattr(value, f.name), is_leaf, fn)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    return value
