"""A URL protocol, ``example://``, registered through ``register_file_systems``: files kept in
fsspec's in-memory filesystem under ``/redun-plugin-example/``."""

from __future__ import annotations

from typing import Any

import fsspec

from redun.filesystems.base import FileSystemSupport
from redun.hashing import hash_struct

ROOT = "/redun-plugin-example"


class ExampleSupport(FileSystemSupport):
    """``example://PATH`` is ``memory://redun-plugin-example/PATH``; hashed by size."""

    def filesystem(self, url: str) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("memory")

    def fs_path(self, url: str) -> str:
        return f"{ROOT}/{url.split('://', 1)[1]}"

    def to_url(self, fs_path: str) -> str:
        return f"{self.protocol}://{fs_path[len(ROOT) + 1 :]}"

    def hash_info(self, url: str, info: dict[str, Any] | None) -> str:
        return hash_struct(["File", "example", url, -1 if info is None else info["size"]])
