"""Files as values: local paths and any fsspec URL, hashed so caching reacts to changes.

``File`` hashes by (path, size, mtime) locally and by ETag (or size and mtime)
remotely; ``ContentFile`` by content; ``IFile`` by path alone. A cached File is
only reused while its current hash matches the recorded one.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import fsspec

from redun.hashing import HASH_LEN, hash_struct
from redun.values import MemoizedHashValue


def get_protocol(path: str) -> str:
    """'local' for plain paths and file:// URLs, otherwise the URL scheme."""
    if "://" not in path:
        return "local"
    protocol = path.split("://", 1)[0]
    return "local" if protocol == "file" else protocol


def _local_path(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


class File(MemoizedHashValue):
    """A file at a local path or fsspec URL."""

    type_name = "redun.File"

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        self.protocol = get_protocol(self.path)
        self._hash: str | None = None

    # Filesystem ---------------------------------------------------------------
    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        import fsspec  # imported on first use: local files never need it

        return fsspec.filesystem("file" if self.protocol == "local" else self.protocol)

    @property
    def _fs_path(self) -> str:
        return _local_path(self.path) if self.protocol == "local" else self.path

    def exists(self) -> bool:
        if self.protocol == "local":
            return os.path.exists(self._fs_path)
        return self.fs.exists(self._fs_path)

    def size(self) -> int:
        if self.protocol == "local":
            return os.path.getsize(self._fs_path)
        return int(self.fs.size(self._fs_path))

    def open(self, mode: str = "r", encoding: str | None = None, **kwargs: Any) -> IO:
        """Open the file; writing resets its hash so the new content is what gets recorded."""
        if any(flag in mode for flag in "wax+"):
            self._hash = None
            if self.protocol == "local":
                parent = os.path.dirname(self._fs_path)
                if parent:
                    os.makedirs(parent, exist_ok=True)
        if self.protocol == "local":
            return open(self._fs_path, mode, encoding=encoding, **kwargs)
        return self.fs.open(self._fs_path, mode, encoding=encoding, **kwargs)

    def read(self, mode: str = "r", encoding: str | None = None) -> Any:
        with self.open(mode, encoding=encoding) as infile:
            return infile.read()

    def write(
        self, data: str | bytes, mode: str | None = None, encoding: str | None = None
    ) -> None:
        with self.open(
            mode or ("wb" if isinstance(data, bytes) else "w"), encoding=encoding
        ) as out:
            out.write(data)

    def remove(self) -> None:
        self._hash = None
        if self.protocol == "local":
            os.remove(self._fs_path)
        else:
            self.fs.rm(self._fs_path)

    def copy_to(self, dest: File, skip_if_exists: bool = False) -> File:
        """Copy this file's content to ``dest`` (any protocol) and return ``dest``."""
        if skip_if_exists and dest.exists():
            return dest
        if self.protocol == "local" and dest.protocol == "local":
            parent = os.path.dirname(dest._fs_path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            shutil.copyfile(self._fs_path, dest._fs_path)
        else:
            with self.open("rb") as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out)
        dest._hash = None
        return dest

    def stage(self, local: str | None = None) -> StagingFile:
        """Pair this (remote) file with a local path for script() staging."""
        return StagingFile(File(local or os.path.basename(self.path)), self)

    def basename(self) -> str:
        return os.path.basename(self.path)

    def dirname(self) -> str:
        return os.path.dirname(self.path)

    # Hashing ------------------------------------------------------------------
    def _calc_hash(self) -> str:
        if self.protocol == "local":
            try:
                stat = os.stat(self._fs_path)
                size, mtime = stat.st_size, stat.st_mtime
            except FileNotFoundError:
                size, mtime = -1, -1
            return hash_struct(["File", "local", self.path, size, str(mtime)])
        try:
            info = self.fs.info(self._fs_path)
        except FileNotFoundError:
            return hash_struct(["File", self.protocol, self.path, -1, "-1"])
        etag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("crc32c")
        if etag:
            return hash_struct(["File", self.protocol, self.path, str(etag).strip('"')])
        mtime = (
            info.get("mtime")
            or info.get("LastModified")
            or info.get("updated")
            or info.get("created")  # e.g. memory://, which recreates a file on each write
            or ""
        )
        return hash_struct(["File", self.protocol, self.path, info.get("size", -1), str(mtime)])

    def update_hash(self) -> None:
        """Forget the cached hash so it is computed again from the filesystem."""
        self._hash = None

    def is_valid(self) -> bool:
        """A recorded File is valid while the file still has the recorded hash."""
        if self._hash is None:
            return True
        return self._calc_hash() == self._hash

    def __getstate__(self) -> dict:
        return {"path": self.path, "hash": self.hash}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self.protocol = get_protocol(self.path)
        self._hash = state.get("hash")

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.path == self.path and other.hash == self.hash

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, hash={self.hash[:8]})"


class IFile(File):
    """An immutable file: hashed by path alone, never re-checked."""

    type_name = "redun.IFile"

    def _calc_hash(self) -> str:
        return hash_struct(["IFile", self.path])

    def is_valid(self) -> bool:
        return True


class ContentFile(File):
    """A file hashed by its content (sha512), for inputs whose mtime is not trustworthy."""

    type_name = "redun.ContentFile"

    def _calc_hash(self) -> str:
        digest = hashlib.sha512()
        try:
            with self.open("rb") as infile:
                for block in iter(lambda: infile.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError:
            return hash_struct(["ContentFile", self.path, "missing"])
        return hash_struct(["ContentFile", self.path, digest.hexdigest()[:HASH_LEN]])


class FileSet(MemoizedHashValue):
    """The files matching a glob pattern, hashed by all of their hashes."""

    type_name = "redun.FileSet"

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._hash: str | None = None

    def _files(self) -> list[File]:
        if get_protocol(self.pattern) == "local":
            return [
                File(p) for p in sorted(globlib.glob(_local_path(self.pattern), recursive=True))
            ]
        fs = File(self.pattern).fs
        protocol = get_protocol(self.pattern)
        return [File(f"{protocol}://{p}") for p in sorted(fs.glob(self.pattern))]

    def __iter__(self) -> Iterator[File]:
        return iter(self._files())

    def _calc_hash(self) -> str:
        return hash_struct(["FileSet", self.pattern] + [f.hash for f in self._files()])

    def is_valid(self) -> bool:
        return self._hash is None or self._calc_hash() == self._hash

    def __getstate__(self) -> dict:
        return {"pattern": self.pattern, "hash": self.hash}

    def __setstate__(self, state: dict) -> None:
        self.pattern = state["pattern"]
        self._hash = state.get("hash")

    def __repr__(self) -> str:
        return f"FileSet({self.pattern!r})"


class Dir(FileSet):
    """A directory: every file below it, hashed together."""

    type_name = "redun.Dir"

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path).rstrip("/")
        super().__init__(self.path + "/**")

    def _files(self) -> list[File]:
        files = super()._files()
        if get_protocol(self.path) == "local":
            return [f for f in files if os.path.isfile(f._fs_path)]
        # A remote "**" glob also lists the directories themselves.
        fs = File(self.path).fs
        return [f for f in files if fs.isfile(f._fs_path)]

    def file(self, rel_path: str) -> File:
        return File(f"{self.path}/{rel_path}")

    def exists(self) -> bool:
        return File(self.path).exists()

    def __getstate__(self) -> dict:
        return {"path": self.path, "pattern": self.pattern, "hash": self.hash}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.path = state.get("path", self.pattern.rstrip("*").rstrip("/"))

    def __repr__(self) -> str:
        return f"Dir({self.path!r})"


# Staging pairs live in redun.staging; re-exported here (after File exists: staging imports it).
from redun.staging import StagingFile  # noqa: E402
