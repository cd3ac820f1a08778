"""Staging: (local, remote) pairs copied in before a script runs and out after it.

A pair is an address, not content: as in redun 0.4x it hashes by its two paths and
is always valid. What a script reads is hashed through the remote File or Dir that
``script()`` records next to it, and what it writes through the remote values it
returns.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from redun.file import Dir, File, get_protocol
from redun.hashing import hash_struct
from redun.values import Value


class StagingError(FileNotFoundError):
    """A file or directory to stage does not exist."""


class _StagingPair(Value):
    """Common parts of StagingFile and StagingDir: hashing, equality, repr."""

    local: Any
    remote: Any

    def get_hash(self, data: bytes | None = None) -> str:
        return hash_struct([self.type_name, self.local.path, self.remote.path])

    def __eq__(self, other: Any) -> bool:
        return (
            type(other) is type(self)
            and other.local.path == self.local.path
            and other.remote.path == self.remote.path
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.local.path, self.remote.path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local={self.local.path!r}, remote={self.remote.path!r})"


class StagingFile(_StagingPair):
    """A (local, remote) pair of files: staged in before a script, out after it."""

    type_name = "redun.StagingFile"

    def __init__(self, local: File | str, remote: File | str) -> None:
        self.local = local if isinstance(local, File) else File(local)
        self.remote = remote if isinstance(remote, File) else File(remote)

    def stage(self) -> File:
        """Copy remote to local (before a script runs); returns the local File."""
        if not self.remote.exists():
            raise StagingError(
                f"staged input {self.remote.path} does not exist "
                f"(it was to be copied to {self.local.path})"
            )
        return _copy_file(self.remote, self.local)

    def unstage(self) -> File:
        """Copy local to remote (after a script has run); returns the remote File."""
        if not self.local.exists():
            raise StagingError(
                f"staged output {self.local.path} does not exist "
                f"(it was to be copied to {self.remote.path})"
            )
        return _copy_file(self.local, self.remote)


class StagingDir(_StagingPair):
    """A (local, remote) pair of directories, copied whole in either direction."""

    type_name = "redun.StagingDir"

    def __init__(self, local: Dir | str, remote: Dir | str) -> None:
        self.local = local if isinstance(local, Dir) else Dir(local)
        self.remote = remote if isinstance(remote, Dir) else Dir(remote)

    def stage(self) -> Dir:
        """Copy the remote directory's files into the local one; returns the local Dir."""
        if not self.remote.exists():
            raise StagingError(
                f"staged input directory {self.remote.path} does not exist "
                f"(it was to be copied to {self.local.path})"
            )
        return copy_dir(self.remote, self.local)

    def unstage(self) -> Dir:
        """Copy the local directory's files to the remote one; returns the remote Dir."""
        if not self.local.exists():
            raise StagingError(
                f"staged output directory {self.local.path} does not exist "
                f"(it was to be copied to {self.remote.path})"
            )
        return copy_dir(self.local, self.remote)


def _local(path: str) -> str | None:
    """The absolute local path of a plain path or file:// URL; None for other URLs."""
    if get_protocol(path) != "local":
        return None
    return os.path.abspath(path[len("file://") :] if path.startswith("file://") else path)


def _fresh(value: File | Dir) -> Any:
    """A new object for the same path: the staging pair's own Files are values a call
    was hashed and recorded with, so copying must not reset their hashes."""
    return type(value)(value.path)


def _copy_file(src: File, dest: File) -> File:
    dest = _fresh(dest)
    local_src = _local(src.path)
    if local_src is not None and local_src == _local(dest.path):
        dest.update_hash()
        return dest  # staged onto itself: nothing to copy
    return src.copy_to(dest)


def _plain_path(path: str) -> str:
    """A path without its protocol, comparable with the paths a listing returns."""
    local = _local(path)
    if local is not None:
        return local
    import fsspec.core

    return fsspec.core.strip_protocol(path).rstrip("/")


def copy_dir(src: Dir, dest: Dir) -> Dir:
    """Copy every file below ``src`` to the same relative path below ``dest``.

    Files already in ``dest`` that ``src`` lacks are left in place.
    """
    dest = _fresh(dest)
    local_src, local_dest = _local(src.path), _local(dest.path)
    if local_src is not None and local_dest is not None:
        if local_src != local_dest:
            import shutil  # (here: it imports bz2 and lzma, a cost to every start)

            shutil.copytree(local_src, local_dest, dirs_exist_ok=True)
    else:
        if local_dest is not None:
            os.makedirs(local_dest, exist_ok=True)
        root = _plain_path(src.path)
        for file in src:
            file.copy_to(dest.file(posixpath.relpath(_plain_path(file.path), root)))
    dest._hash = None
    return dest
