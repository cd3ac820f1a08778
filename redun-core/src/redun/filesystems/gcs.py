"""``gs://``: Google Cloud Storage through gcsfs, files hashed by their MD5 (or ETag).

Needs gcsfs (``pip install 'redun-core[gcs]'``). With ``STORAGE_EMULATOR_HOST`` set
(a local emulator), requests go unauthenticated.
"""

from __future__ import annotations

import os
from typing import Any

from redun.filesystems.base import FileSystemSupport
from redun.hashing import hash_struct

# Content checksum first; composite objects have no MD5, but every object has an ETag.
_TAG_KEYS = ("md5Hash", "etag", "crc32c", "generation")


class GcsSupport(FileSystemSupport):
    """Google Cloud Storage through gcsfs."""

    package = "gcsfs"
    install = "'redun-core[gcs]'"

    def storage_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"use_listings_cache": False}
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            options["token"] = "anon"  # an emulator wants no credentials
        return options

    def hash_info(self, url: str, info: dict[str, Any] | None) -> str:
        tag = "" if info is None else next((str(info[k]) for k in _TAG_KEYS if info.get(k)), "")
        return hash_struct(["File", "gs", url, tag])
