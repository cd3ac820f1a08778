"""Canonical hashing: bencode + sha512, byte-for-byte compatible with redun 0.4x.

Every hash in the record (tasks, values, arguments, evaluations, call nodes) is
built from these three functions, so they are the compatibility contract with
existing ``.redun/redun.db`` files.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

HASH_LEN = 40
PICKLE_PROTOCOL = 3


def bencode(value: Any) -> bytes:
    """Encode ``value`` (int, str, bytes, list, tuple, dict) as bencode.

    Dict keys are sorted, so equal structures always encode the same way.
    Booleans are rejected because bencode cannot tell them from integers.
    """
    out: list[bytes] = []
    # An explicit stack keeps deep structures from exhausting Python's recursion.
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(b"%d:%s" % (len(item), item))
        elif isinstance(item, str):
            data = item.encode("utf-8")
            out.append(b"%d:%s" % (len(data), data))
        elif isinstance(item, bool):
            raise TypeError("bencode cannot encode bool values; use 0/1 or a string")
        elif isinstance(item, int):
            out.append(b"i%de" % item)
        elif isinstance(item, (list, tuple)):
            out.append(b"l")
            stack.append(_END)
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            out.append(b"d")
            stack.append(_END)
            pairs = sorted((_key_bytes(k), v) for k, v in item.items())
            for key, val in reversed(pairs):
                stack.append(val)
                stack.append(key)
        elif item is _END:
            out.append(b"e")
        else:
            raise TypeError(f"bencode cannot encode {type(item).__name__} values")
    return b"".join(out)


class _End:
    __slots__ = ()


_END = _End()


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    raise TypeError(f"bencode dict keys must be str or bytes, not {type(key).__name__}")


def hash_bytes(data: bytes) -> str:
    """Hash a byte string: the first 40 hex digits of its sha512."""
    return hashlib.sha512(data).hexdigest()[:HASH_LEN]


def hash_text(text: str) -> str:
    """Hash a text string encoded as UTF-8."""
    return hash_bytes(text.encode("utf-8"))


def hash_struct(struct: Any) -> str:
    """Hash a structure through its canonical bencoding."""
    return hashlib.sha512(bencode(struct)).hexdigest()[:HASH_LEN]


_TAG_PREFIX_CACHE: dict[str, bytes] = {}


def hash_tag_bytes(tag: str, data: bytes) -> str:
    """Hash ``data`` under a type tag: sha512(bencode([tag]) + data)."""
    prefix = _TAG_PREFIX_CACHE.get(tag)
    if prefix is None:
        prefix = _TAG_PREFIX_CACHE[tag] = bencode([tag])
    digest = hashlib.sha512(prefix)
    digest.update(data)
    return digest.hexdigest()[:HASH_LEN]


def pickle_dumps(value: Any) -> bytes:
    """Pickle with the protocol every stored hash was computed with."""
    return pickle.dumps(value, protocol=PICKLE_PROTOCOL)


def hash_arguments(arg_hashes: list[str], kwarg_hashes: dict[str, str]) -> str:
    """Hash a call's arguments from the hashes of their values."""
    return hash_struct(["TaskArguments", arg_hashes, kwarg_hashes])


def hash_eval(task_hash: str, args_hash: str) -> str:
    """Hash one evaluation: a task applied to arguments (the cache key)."""
    return hash_struct(["Eval", task_hash, args_hash])


def hash_call_node(
    task_hash: str, args_hash: str, result_hash: str, child_call_hashes: list[str]
) -> str:
    """Hash a call node of the call graph (a Merkle tree over child calls)."""
    return hash_struct(["CallNode", task_hash, args_hash, result_hash, sorted(child_call_hashes)])
