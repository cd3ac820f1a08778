"""Canonical hashing: bencode + sha512, byte-for-byte compatible with redun 0.4x.

Every hash in the record (tasks, values, arguments, evaluations, call nodes) is
built from these three functions, so they are the compatibility contract with
existing ``.redun/redun.db`` files.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterable
from typing import Any

HASH_LEN = 40
PICKLE_PROTOCOL = 3

# For the short inputs hashed once or more per job (hashes of hashes), CPython's own
# SHA-512 is about a third faster than OpenSSL's, whose per-object setup dominates
# there; OpenSSL stays for anything longer (its bulk hashing is faster).
try:
    from _sha512 import sha512 as _short_sha512  # CPython 3.11
except ImportError:  # pragma: no cover (3.12+, or a build without it)
    try:
        from _sha2 import sha512 as _short_sha512  # type: ignore[no-redef]
    except ImportError:
        _short_sha512 = hashlib.sha512  # type: ignore[assignment]
SHORT = 512  # bytes: below this, _short_sha512


def bencode(value: Any) -> bytes:
    """Encode ``value`` (int, str, bytes, list, tuple, dict) as bencode.

    Dict keys are sorted, so equal structures always encode the same way.
    Booleans are rejected because bencode cannot tell them from integers.
    """
    out: list[bytes] = []
    _encode(value, out.append)
    return b"".join(out)


def _encode(item: Any, write: Any) -> None:
    cls = type(item)
    if cls is str:
        data = item.encode("utf-8")
        write(b"%d:%s" % (len(data), data))
    elif cls is bytes:
        write(b"%d:%s" % (len(item), item))
    elif cls is list or cls is tuple:
        write(b"l")
        for child in item:
            _encode(child, write)
        write(b"e")
    elif cls is int:
        write(b"i%de" % item)
    elif cls is dict:
        write(b"d")
        for key, child in sorted((_key_bytes(k), v) for k, v in item.items()):
            write(b"%d:%s" % (len(key), key))
            _encode(child, write)
        write(b"e")
    elif cls is bool:
        raise TypeError("bencode cannot encode bool values; use 0/1 or a string")
    elif isinstance(item, str):
        _encode(str(item), write)
    elif isinstance(item, int) and not isinstance(item, bool):
        _encode(int(item), write)
    elif isinstance(item, (list, tuple)):
        _encode(list(item), write)
    elif isinstance(item, dict):
        _encode(dict(item), write)
    else:
        raise TypeError(f"bencode cannot encode {cls.__name__} values")


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    raise TypeError(f"bencode dict keys must be str or bytes, not {type(key).__name__}")


def hash_bytes(data: bytes) -> str:
    """Hash a byte string: the first 40 hex digits of its sha512."""
    sha512 = _short_sha512 if len(data) < SHORT else hashlib.sha512
    return sha512(data).hexdigest()[:HASH_LEN]


def hash_struct(struct: Any) -> str:
    """Hash a structure through its canonical bencoding."""
    return hash_bytes(bencode(struct))


_TAG_PREFIX_CACHE: dict[str, bytes] = {}


def hash_tag_bytes(tag: str, data: bytes) -> str:
    """Hash ``data`` under a type tag: sha512(bencode([tag]) + data)."""
    prefix = _TAG_PREFIX_CACHE.get(tag)
    if prefix is None:
        prefix = _TAG_PREFIX_CACHE[tag] = bencode([tag])
    if len(data) < SHORT:
        return _short_sha512(prefix + data).hexdigest()[:HASH_LEN]
    digest = hashlib.sha512(prefix)
    digest.update(data)
    return digest.hexdigest()[:HASH_LEN]


def hash_tag(entity_id: str, key: str, value: Any, parents: Iterable[str] = ()) -> str:
    """A tag's hash, as redun 0.4x: entity, key, normalized JSON value, superseded tags."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return hash_struct(["Tag", entity_id, key, text, sorted(parents)])


def pickle_dumps(value: Any) -> bytes:
    """Pickle with the protocol every stored hash was computed with."""
    return pickle.dumps(value, protocol=PICKLE_PROTOCOL)


def _hash_list(items: list[str]) -> bytes:
    # bencode of a list of 40-hex hashes, the common case, without the general encoder.
    if not items:
        return b"le"
    if len(items) == 1:  # (one argument: the most common call)
        item = items[0]
        if len(item) == HASH_LEN and item.isascii():
            return b"l40:" + item.encode() + b"e"
    elif set(map(len, items)) == {HASH_LEN}:
        joined = "40:" + "40:".join(items)
        if joined.isascii():
            return b"l" + joined.encode() + b"e"
    return bencode(list(items))


def _hash_dict(hashes: dict[str, str]) -> bytes:
    # bencode of a dict of str keys to 40-hex hashes, the common case, without the general
    # encoder (keys sorted by their UTF-8 bytes, as bencode sorts them).
    if not hashes:
        return b"de"
    if all(type(k) is str for k in hashes):
        items = sorted((k.encode("utf-8"), v) for k, v in hashes.items())
        if all(len(v) == HASH_LEN and v.isascii() for _, v in items):
            parts = [b"%d:%s40:%s" % (len(k), k, v.encode()) for k, v in items]
            return b"d" + b"".join(parts) + b"e"
    return bencode(dict(hashes))


def hash_call_expression(
    kind: str,
    task_name: str,
    arg_hashes: list[str],
    kwarg_hashes: dict[str, str],
    option_hashes: dict[str, str],
) -> str:
    """``hash_struct([kind, task_name, arg_hashes, kwarg_hashes, option_hashes])``, the hash of a
    task call expression, without the general encoder (a fan-out hashes 100,000s of them)."""
    tag, name = kind.encode("utf-8"), task_name.encode("utf-8")
    data = b"l%d:%s%d:%s%s%s%se" % (
        len(tag),
        tag,
        len(name),
        name,
        _hash_list(arg_hashes),
        _hash_dict(kwarg_hashes),
        _hash_dict(option_hashes),
    )
    return hash_bytes(data)


def hash_arguments(arg_hashes: list[str], kwarg_hashes: dict[str, str]) -> str:
    """Hash a call's arguments from the hashes of their values."""
    data = b"l13:TaskArguments" + _hash_list(arg_hashes) + _hash_dict(kwarg_hashes) + b"e"
    return _short_sha512(data).hexdigest()[:HASH_LEN]


def hash_eval(task_hash: str, args_hash: str) -> str:
    """Hash one evaluation: a task applied to arguments (the cache key)."""
    data = b"l4:Eval40:%s40:%se" % (task_hash.encode(), args_hash.encode())
    return _short_sha512(data).hexdigest()[:HASH_LEN]


def hash_argument(call_hash: str, position: int | None, key: str | None, value_hash: str) -> str:
    """Hash one recorded argument of a call (as redun 0.4x does)."""
    pos = str(position).encode()
    key_bytes = str(key).encode("utf-8")
    data = b"l8:Argument40:%s%d:%s%d:%s40:%se" % (
        call_hash.encode(),
        len(pos),
        pos,
        len(key_bytes),
        key_bytes,
        value_hash.encode(),
    )
    return _short_sha512(data).hexdigest()[:HASH_LEN]


def hash_call_node(
    task_hash: str, args_hash: str, result_hash: str, child_call_hashes: list[str]
) -> str:
    """Hash a call node of the call graph (a Merkle tree over child calls)."""
    data = b"l8:CallNode40:%s40:%s40:%s%se" % (
        task_hash.encode(),
        args_hash.encode(),
        result_hash.encode(),
        _hash_list(sorted(child_call_hashes)) if child_call_hashes else b"le",
    )
    return _short_sha512(data).hexdigest()[:HASH_LEN]
