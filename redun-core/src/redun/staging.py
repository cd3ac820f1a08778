"""Staging: (local, remote) pairs of files copied in before a script and out after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from redun.file import File
from redun.hashing import hash_struct
from redun.values import Value


class StagingFile(Value):
    """A (local, remote) pair of files: staged in before a script, out after it."""

    type_name = "redun.StagingFile"

    def __init__(self, local: File | str, remote: File | str) -> None:
        self.local = local if isinstance(local, File) else File(local)
        self.remote = remote if isinstance(remote, File) else File(remote)

    def stage(self) -> File:
        """Copy remote to local (before a script runs)."""
        return self.remote.copy_to(self.local)

    def unstage(self) -> File:
        """Copy local to remote (after a script has run)."""
        return self.local.copy_to(self.remote)

    def get_hash(self, data: bytes | None = None) -> str:
        return hash_struct(["StagingFile", self.local.hash, self.remote.hash])

    def iter_subvalues(self) -> Iterator[Any]:
        return iter((self.local, self.remote))

    def __repr__(self) -> str:
        return f"StagingFile(local={self.local.path!r}, remote={self.remote.path!r})"
