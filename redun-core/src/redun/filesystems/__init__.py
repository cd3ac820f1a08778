"""Remote filesystems: one :class:`FileSystemSupport` per URL protocol, found through plugins.

Local paths never come here. The first non-local URL loads the plugins
(``register_file_systems``); a protocol no plugin registers falls back to plain
fsspec. Nothing here imports fsspec, s3fs or gcsfs until a URL needs them.
"""

from __future__ import annotations

import threading

from redun.filesystems.base import FileSystemSupport, FileSystemUnavailableError

__all__ = ["FileSystemSupport", "FileSystemUnavailableError", "clear_supports", "get_support"]

_lock = threading.Lock()
_supports: dict[str, FileSystemSupport] = {}


def get_support(protocol: str) -> FileSystemSupport:
    """The support for ``protocol`` (``s3``, ``gs``, ``memory``, ...), built once."""
    support = _supports.get(protocol)
    if support is not None:
        return support
    with _lock:
        support = _supports.get(protocol)
        if support is None:
            from redun.filesystems.generic import FsspecSupport
            from redun.plugins import get_file_system_classes

            cls = get_file_system_classes().get(protocol, FsspecSupport)
            support = _supports[protocol] = cls(protocol)
        return support


def clear_supports() -> None:
    """Forget the supports built so far (after plugins were reloaded, in tests)."""
    with _lock:
        _supports.clear()
