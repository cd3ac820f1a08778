"""``s3://``: files hashed by ETag as redun 0.4x does, many HEAD requests at once.

Needs s3fs (``pip install 'redun-core[s3]'``); the endpoint, region and credentials
come from the usual AWS settings (``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ...).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redun.filesystems.base import FileSystemSupport
from redun.hashing import hash_struct

# HEAD requests in flight at once (aiobotocore queues beyond its connection pool).
MAX_CONCURRENT = 64


class S3Support(FileSystemSupport):
    """Amazon S3 (and S3-compatible stores) through s3fs."""

    package = "s3fs"
    install = "'redun-core[s3]'"

    def storage_options(self) -> dict[str, Any]:
        # Listings are never cached: a hash must see the object as it is now.
        return {"use_listings_cache": False}

    def hash_info(self, url: str, info: dict[str, Any] | None) -> str:
        # The ETag keeps its quotes, and a missing object hashes with "" (as redun 0.4x).
        etag = "" if info is None else info.get("ETag", "")
        return hash_struct(["File", "s3", url, etag])

    def hashes(self, urls: list[str]) -> list[str]:
        """One HEAD request per object, all in flight together on s3fs's event loop."""
        if not urls:
            return []
        from fsspec.asyn import sync

        fs = self.filesystem(urls[0])

        async def head(url: str, limit: asyncio.Semaphore) -> str:
            async with limit:
                try:
                    info = await fs._info(self.fs_path(url))
                except FileNotFoundError:
                    info = None
            if info is not None and info.get("type") != "file":
                info = None  # a "directory" (key prefix) is no object
            return self.hash_info(url, info)

        async def head_all() -> list[str]:
            limit = asyncio.Semaphore(MAX_CONCURRENT)
            return list(await asyncio.gather(*(head(url, limit) for url in urls)))

        return sync(fs.loop, head_all)

    def hash(self, url: str) -> str:
        return self.hashes([url])[0]
