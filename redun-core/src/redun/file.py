"""Files as values: local paths and any fsspec URL, hashed so caching reacts to changes.

``File`` hashes by (path, size, mtime) locally (a stat, never a read) and remotely
as its protocol's support says (S3 by ETag; see :mod:`redun.filesystems`);
``ContentFile`` by content; ``IFile`` by path alone. A cached File is only reused
while its current hash matches the recorded one; :func:`redun.values.are_values_valid`
checks many at once.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
import posixpath
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import fsspec

from redun.filesystems import get_support
from redun.hashing import HASH_LEN, hash_struct
from redun.values import MemoizedHashValue, register_batch_check


def get_protocol(path: str) -> str:
    """'local' for plain paths and file:// URLs, otherwise the URL scheme."""
    if "://" not in path:
        return "local"
    protocol = path.split("://", 1)[0]
    return "local" if protocol == "file" else protocol


def _local_path(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _make_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)


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
        """The fsspec filesystem holding this file."""
        if self.protocol == "local":
            import fsspec  # imported on first use: local files never need it

            return fsspec.filesystem("file")
        return get_support(self.protocol).filesystem(self.path)

    @property
    def _fs_path(self) -> str:
        if self.protocol == "local":
            return _local_path(self.path)
        return get_support(self.protocol).fs_path(self.path)

    def exists(self) -> bool:
        if self.protocol == "local":
            return os.path.exists(self._fs_path)
        return self.fs.exists(self._fs_path)

    def isfile(self) -> bool:
        if self.protocol == "local":
            return os.path.isfile(self._fs_path)
        return self.fs.isfile(self._fs_path)

    def isdir(self) -> bool:
        if self.protocol == "local":
            return os.path.isdir(self._fs_path)
        return self.fs.isdir(self._fs_path)

    def size(self) -> int:
        if self.protocol == "local":
            return os.path.getsize(self._fs_path)
        return int(self.fs.size(self._fs_path))

    def open(self, mode: str = "r", encoding: str | None = None, **kwargs: Any) -> IO:
        """Open the file; writing resets its hash so the new content is what gets recorded."""
        if any(flag in mode for flag in "wax+"):
            self._hash = None
            if self.protocol == "local":
                _make_parent(self._fs_path)
        if self.protocol == "local":
            return open(self._fs_path, mode, encoding=encoding, **kwargs)
        return self.fs.open(self._fs_path, mode, encoding=encoding, **kwargs)

    def read(self, mode: str = "r", encoding: str | None = None) -> Any:
        with self.open(mode, encoding=encoding) as infile:
            return infile.read()

    def readlines(self, mode: str = "r", encoding: str | None = None) -> list[Any]:
        with self.open(mode, encoding=encoding) as infile:
            return infile.readlines()

    def write(
        self, data: str | bytes, mode: str | None = None, encoding: str | None = None
    ) -> None:
        with self.open(
            mode or ("wb" if isinstance(data, bytes) else "w"), encoding=encoding
        ) as out:
            out.write(data)

    def touch(self, time: tuple[float, float] | None = None) -> None:
        """Create the file empty if missing; a local one also gets its times set to ``time``
        (default now). Object stores have no times to set: an existing object is left as is."""
        self._hash = None
        if self.protocol == "local":
            path = self._fs_path
            if not os.path.exists(path):
                _make_parent(path)
                open(path, "a").close()
            os.utime(path, time)
            return
        if time is not None:
            raise ValueError(f"File.touch(time=...) needs a local file, not {self.path}")
        if not self.exists():
            self.fs.touch(self._fs_path)

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
        local_src, local_dest = self.protocol == "local", dest.protocol == "local"
        if local_dest:
            _make_parent(dest._fs_path)
        if local_src and local_dest:
            import shutil  # (here: it imports bz2 and lzma, a cost to every start)

            shutil.copyfile(self._fs_path, dest._fs_path)
        elif local_src:
            dest.fs.put_file(self._fs_path, dest._fs_path)
        elif local_dest:
            self.fs.get_file(self._fs_path, dest._fs_path)
        elif self.protocol == dest.protocol and self.protocol not in ("http", "https"):
            self.fs.copy(self._fs_path, dest._fs_path)
        else:
            import shutil

            with self.open("rb") as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        dest._hash = None
        return dest

    def stage(self, local: str | None = None) -> StagingFile:
        """Pair this (remote) file with a local path for script() staging (a ``local``
        ending in "/" is a directory that gets this file's basename)."""
        if not local:
            local = self.basename()
        elif local.endswith("/"):
            local = local + self.basename()
        return StagingFile(File(local), self)

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
        return get_support(self.protocol).hash(self.path)

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
        protocol = get_protocol(self.pattern)
        if protocol == "local":
            return [
                File(p) for p in sorted(globlib.glob(_local_path(self.pattern), recursive=True))
            ]
        # One listing gives every file with its hash (no request per file).
        listing = get_support(protocol).listing(self.pattern)
        return [_listed_file(url, file_hash) for url, file_hash in listing.items()]

    def __iter__(self) -> Iterator[File]:
        return iter(self._files())

    def files(self) -> list[File]:
        """The matching files, sorted by path."""
        return self._files()

    def _hash_parts(self) -> list[str]:
        """What the hash starts with (redun 0.4x: type name, then pattern or path)."""
        return ["FileSet", self.pattern]

    def hash_listing(self, listing: dict[str, str]) -> str:
        """This set's hash given ``{url: file hash}`` of its files."""
        return hash_struct(self._hash_parts() + sorted(listing.values()))

    def _calc_hash(self) -> str:
        return hash_struct(self._hash_parts() + sorted(f.hash for f in self._files()))

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
        return files  # a remote listing holds files only

    def _hash_parts(self) -> list[str]:
        return ["Dir", self.path]

    def file(self, rel_path: str) -> File:
        return File(f"{self.path}/{rel_path}")

    def rel_path(self, path: str) -> str:
        """``path`` (a file below this directory) relative to it."""
        if "://" in path:
            return posixpath.relpath(path, self.path)
        return os.path.relpath(path, self.path)

    def mkdir(self) -> None:
        """Create the directory (object stores have none: there it only checks the URL)."""
        self._hash = None
        if get_protocol(self.path) == "local":
            os.makedirs(_local_path(self.path), exist_ok=True)
        else:
            File(self.path).fs.makedirs(File(self.path)._fs_path, exist_ok=True)

    def rmdir(self, recursive: bool = False) -> None:
        """Remove the directory (with everything in it when ``recursive``)."""
        self._hash = None
        if get_protocol(self.path) != "local":
            File(self.path).fs.rm(File(self.path)._fs_path, recursive=recursive)
        elif recursive:
            import shutil

            shutil.rmtree(_local_path(self.path))
        else:
            os.rmdir(_local_path(self.path))

    def stage(self, local: str | None = None) -> StagingDir:
        """Pair this (remote) directory with a local path for script() staging."""
        return StagingDir(Dir(local or os.path.basename(self.path)), self)

    def exists(self) -> bool:
        return File(self.path).exists()

    def __getstate__(self) -> dict:
        return {"path": self.path, "pattern": self.pattern, "hash": self.hash}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.path = state.get("path", self.pattern.rstrip("*").rstrip("/"))

    def __repr__(self) -> str:
        return f"Dir({self.path!r})"


def _listed_file(url: str, file_hash: str) -> File:
    """A File found by a listing, its hash taken from the listing."""
    file = File(url)
    file._hash = file_hash
    return file


def _check_batch(values: list[Any]) -> list[bool]:
    from redun.filesystems.validity import check_files_valid

    return check_files_valid(values)


for _cls in (File, FileSet, Dir):
    register_batch_check(_cls, _check_batch)


# Staging pairs live in redun.staging; re-exported here (after File exists: staging imports it).
from redun.staging import StagingDir, StagingFile  # noqa: E402
