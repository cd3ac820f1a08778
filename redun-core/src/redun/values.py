"""The value type registry: how each kind of value hashes, serializes and validates.

Plain Python values hash by their pickle (``hash_tag_bytes("Value", ...)``).
Types that need more (files, tasks, handles) subclass :class:`Value`; builtin
types that need a stable hash (sets, functions) get a small proxy here.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from redun import nested
from redun.hashing import hash_struct, hash_tag_bytes, pickle_dumps

MIME_PICKLE = "application/python-pickle"

# Builtin types whose pickles cannot contain a Value, so validity checks skip them.
_ATOMIC_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})
# Their stored type names (``builtins.int``, ...): their stored data is a plain pickle.
_PLAIN_TYPE_NAMES = frozenset(f"{cls.__module__}.{cls.__qualname__}" for cls in _ATOMIC_TYPES)


class InvalidValueError(ValueError):
    """A value cannot be hashed or stored by redun."""


class Value:
    """Base class for values that control their own hashing, storage and validity.

    Subclasses set ``type_name`` (stored in ``value.type`` of the record) and
    may override :meth:`get_hash`, :meth:`is_valid`, :meth:`serialize` and
    :meth:`deserialize`.
    """

    type_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type_name"):
            _TYPE_NAMES[cls] = cls.type_name
            _CLASSES_BY_NAME[cls.type_name] = cls

    def get_hash(self, data: bytes | None = None) -> str:
        """Return this value's hash (by default, the hash of its pickle)."""
        return hash_tag_bytes("Value", data if data is not None else self.serialize())

    def serialize(self) -> bytes:
        """Return the bytes stored in the record for this value."""
        return pickle_dumps(self)

    @classmethod
    def deserialize(cls, type_name: str, data: bytes) -> Any:
        """Rebuild a value from the bytes made by :meth:`serialize`."""
        return pickle.loads(data)

    def is_valid(self) -> bool:
        """Whether a cached copy of this value may still be used (e.g. file unchanged)."""
        return True

    def iter_subvalues(self) -> Iterator[Any]:
        """Values held inside this one that the record should know about."""
        return iter(())

    def get_serialization_format(self) -> str:
        return MIME_PICKLE


class MemoizedHashValue(Value):
    """A Value whose hash is computed once by ``_calc_hash`` and then kept."""

    _hash: str | None = None

    def _calc_hash(self) -> str:
        raise NotImplementedError

    @property
    def hash(self) -> str:
        if self._hash is None:
            self._hash = self._calc_hash()
        return self._hash

    def get_hash(self, data: bytes | None = None) -> str:
        return self.hash


_TYPE_NAMES: dict[type, str] = {}
_CLASSES_BY_NAME: dict[str, type] = {}


def get_type_name(value: Any) -> str:
    """Name of a value's type as stored in the record (``builtins.int``, ``redun.File``)."""
    cls = type(value)
    name = _TYPE_NAMES.get(cls)
    if name is None:
        name = f"{cls.__module__}.{cls.__qualname__}"
    return name


def _function_source(func: Callable) -> str:
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return ""


def hash_function(func: Callable) -> str:
    """Hash a plain function by its full name and source (as redun 0.4x does)."""
    cached = getattr(func, "__redun_hash__", None)
    if cached is not None:
        return cached
    fullname = f"{func.__module__}.{func.__name__}"
    result = hash_struct(
        ["Value.function", fullname.encode("utf8"), "source", _function_source(func)]
    )
    try:
        func.__redun_hash__ = result  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    return result


class FunctionRef:
    """Picklable stand-in for a plain function stored as a value."""

    def __init__(self, func: Callable) -> None:
        self.module = func.__module__
        self.name = func.__name__
        self.hash = hash_function(func)

    def resolve(self) -> Callable | None:
        try:
            return getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError):
            return None


def _pickle_value(value: Any) -> bytes:
    try:
        return pickle_dumps(value)
    except Exception as error:
        raise InvalidValueError(
            f"value of type {get_type_name(value)} cannot be pickled ({error}); "
            "return or pass only picklable values"
        ) from None


def _sorted_set(value: set | frozenset) -> list:
    try:
        return sorted(value)
    except TypeError:
        # Members that do not compare (e.g. {1, "a"}): order them by their hashes.
        return sorted(value, key=get_value_hash)


def get_value_hash(value: Any) -> str:
    """Hash any value: custom Values by their own rule, others by their pickle."""
    cls = type(value)
    if cls in _ATOMIC_TYPES:
        return hash_tag_bytes("Value", pickle_dumps(value))
    if isinstance(value, Value):
        return value.get_hash()
    if cls is set or cls is frozenset:
        return hash_tag_bytes("Value.set", _pickle_value(_sorted_set(value)))
    if cls is types.FunctionType:
        return hash_function(value)
    return hash_tag_bytes("Value", _pickle_value(value))


def hash_and_serialize(value: Any) -> tuple[str, bytes | None]:
    """A value's hash, and its stored bytes when hashing already made them.

    Plain values hash by their pickle, which is also what the record stores: one
    pickle then serves both (big results are not pickled twice).
    """
    cls = type(value)
    if isinstance(value, Value) or cls in (set, frozenset, types.FunctionType):
        return get_value_hash(value), None
    data = pickle_dumps(value) if cls in _ATOMIC_TYPES else _pickle_value(value)
    return hash_tag_bytes("Value", data), data


def serialize_value(value: Any) -> bytes:
    """Bytes stored in the record's ``value`` table."""
    if isinstance(value, Value):
        return value.serialize()
    if type(value) is types.FunctionType:
        return pickle_dumps(FunctionRef(value))
    return _pickle_value(value)


def deserialize_value(type_name: str, data: bytes) -> Any:
    """Inverse of :func:`serialize_value`; raises on data it cannot read."""
    if type_name in _PLAIN_TYPE_NAMES:  # (most stored arguments and results: plain pickles)
        return pickle.loads(data)
    cls = _CLASSES_BY_NAME.get(type_name)
    if cls is not None:
        return cls.deserialize(type_name, data)
    result = pickle.loads(data)
    if isinstance(result, FunctionRef):
        func = result.resolve()
        if func is None:
            raise InvalidValueError(f"function {result.module}.{result.name} no longer exists")
        return func
    return result


def iter_nested(value: Any) -> Iterator[Any]:
    """Yield ``value`` and every value nested inside it (containers, dict keys, and the
    values a Value holds)."""
    stack = [value]
    seen: set[int] = set()  # Values shared in a graph (expressions) are walked once
    kind_of = nested.kind_of
    while stack:
        item = stack.pop()
        kind = kind_of(type(item))
        if kind == nested.LEAF:
            continue
        if kind != nested.OTHER:
            yield item
            stack.extend(nested.children(item))  # type: ignore[arg-type]
            if kind == nested.MAPPING:
                stack.extend(item.keys())
        elif isinstance(item, Value):
            if id(item) in seen:
                continue
            seen.add(id(item))
            yield item
            stack.extend(item.iter_subvalues())
        else:
            yield item


BatchCheck = Callable[[list[Any]], list[bool]]
_BATCH_CHECKS: dict[type, BatchCheck] = {}


def register_batch_check(cls: type, check: BatchCheck) -> None:
    """Check every value of exactly type ``cls`` in one call ``check(values)``.

    ``check`` answers like each value's ``is_valid`` (one bool per value, in order);
    :func:`are_values_valid` calls it once for all values that share it, so it can
    batch its requests (e.g. one round of S3 HEAD requests for many Files).
    """
    _BATCH_CHECKS[cls] = check


def is_value_valid(value: Any) -> bool:
    """Whether a cached value (and every Value nested in it) is still valid."""
    if type(value) in _ATOMIC_TYPES:
        return True
    return are_values_valid([value])[0]


_ALWAYS_VALID = Value.is_valid


def are_values_valid(values: list[Any]) -> list[bool]:
    """``[is_value_valid(v) for v in values]``, with the checks batched.

    Every Value nested in any of ``values`` is checked once. Types with a batch
    check (Files, FileSets and Dirs: one batch of requests per protocol, run
    concurrently) are checked together; the others by ``is_valid()``, skipping
    values already known to be invalid.
    """
    results = [True] * len(values)
    singles: list[tuple[int, Value]] = []
    batched: list[tuple[int, Value, BatchCheck]] = []
    for index, value in enumerate(values):
        if type(value) in _ATOMIC_TYPES:
            continue
        for item in iter_nested(value):
            if isinstance(item, Value):
                cls = type(item)
                check = _BATCH_CHECKS.get(cls)
                if check is not None:
                    batched.append((index, item, check))
                elif cls.is_valid is not _ALWAYS_VALID:  # e.g. not a plain expression
                    singles.append((index, item))
    for index, item in singles:
        if results[index] and not item.is_valid():
            results[index] = False
    groups: dict[BatchCheck, dict[int, Value]] = {}
    for index, item, check in batched:
        if results[index]:
            groups.setdefault(check, {})[id(item)] = item
    answers: dict[int, bool] = {}
    for check, items in groups.items():
        answers.update(zip(items, check(list(items.values()))))
    for index, item, _ in batched:
        if not answers.get(id(item), True):
            results[index] = False
    return results


def get_subvalues(value: Any) -> list[Value]:
    """The Values nested strictly inside a container value (for the subvalue table)."""
    if type(value) in _ATOMIC_TYPES or isinstance(value, Value):
        return []
    return [item for item in iter_nested(value) if isinstance(item, Value) and item is not value]
