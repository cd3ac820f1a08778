"""Code packages: a deterministic, content-addressed tar.gz of a workflow's source files.

The same files always give the same bytes (sorted names, zeroed times and owners), so
the package's hash names it and it is uploaded once per content.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import os
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redun.executors.remote import scratch
from redun.file import File
from redun.hashing import hash_bytes

DEFAULT_INCLUDES = ("**/*.py",)
DEFAULT_EXCLUDES = (".git/**", ".redun/**", "**/__pycache__/**", ".venv/**", ".nox/**")


@dataclass(frozen=True)
class CodePackage:
    """A built package: its hash, its bytes and the files in it (relative paths)."""

    hash: str
    data: bytes
    files: tuple[str, ...]


def _matches(rel_path: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(rel_path, pattern):
            return True
        # "**/x" also matches "x" at the top level.
        if pattern.startswith("**/") and fnmatch.fnmatchcase(rel_path, pattern[3:]):
            return True
    return False


def find_files(
    root: str,
    includes: Sequence[str] = DEFAULT_INCLUDES,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
) -> list[str]:
    """Paths (relative to ``root``, ``/``-separated, sorted) matching an include glob and no
    exclude glob. ``*`` in a glob also crosses ``/`` (fnmatch rules)."""
    found = []
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in names:
            rel_path = prefix + name
            if _matches(rel_path, includes) and not _matches(rel_path, excludes):
                found.append(rel_path)
    return sorted(found)


def package_code(
    root: str = ".",
    includes: Sequence[str] = DEFAULT_INCLUDES,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
) -> CodePackage:
    """Build the tar.gz of ``root``'s matching files (same files, same bytes)."""
    files = find_files(root, includes, excludes)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel_path in files:
            path = os.path.join(root, rel_path)
            info = tarfile.TarInfo(rel_path)
            info.size = os.path.getsize(path)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as stream:
                tar.addfile(info, stream)
    data = gzip.compress(raw.getvalue(), mtime=0)
    return CodePackage(hash_bytes(data), data, tuple(files))


def upload_code(package: CodePackage, scratch_dir: str) -> str:
    """Upload ``package`` under ``{scratch}/code/`` unless it is there already; its URL."""
    url = scratch.code_path(scratch_dir, package.hash)
    if not scratch.exists(url):
        scratch.write_bytes(url, package.data)
    return url


def unpack_code(url: str, dest: str) -> list[str]:
    """Extract the code package at ``url`` into ``dest``; the extracted paths."""
    with File(url).open("rb") as stream:
        data = stream.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Python without extraction filters
            tar.extractall(dest, members=members)
    return [member.name for member in members]
