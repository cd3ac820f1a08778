"""Any other fsspec protocol (``http(s)://``, ``memory://``, ...): hashed by what its info
offers, an ETag or checksum when there is one, else size and modification time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redun.filesystems.base import FileSystemSupport
from redun.hashing import hash_struct

_TAG_KEYS = ("ETag", "etag", "md5Hash", "crc32c")
# "created" is what e.g. memory:// has, which makes a new file on every write.
_TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created")


class FsspecSupport(FileSystemSupport):
    """The fallback for protocols no plugin registers: anything fsspec can open."""

    def hash_info(self, url: str, info: dict[str, Any] | None) -> str:
        if info is None:
            return hash_struct(["File", self.protocol, url, -1, "-1"])
        tag = next((info[key] for key in _TAG_KEYS if info.get(key)), None)
        if tag:
            return hash_struct(["File", self.protocol, url, str(tag).strip('"')])
        mtime = next((info[key] for key in _TIME_KEYS if info.get(key)), "")
        if isinstance(mtime, datetime):
            mtime = mtime.timestamp()  # info() and a listing may give the time differently
        size = info.get("size")
        return hash_struct(["File", self.protocol, url, -1 if size is None else size, str(mtime)])
