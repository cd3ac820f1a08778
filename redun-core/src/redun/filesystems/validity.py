"""Validity of many Files, FileSets and Dirs at once: a stat per local file, and for each
remote protocol one batch of hash requests (and listings) in flight together."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from redun.file import File, FileSet, get_protocol
from redun.filesystems import get_support


def check_files_valid(values: list[Any]) -> list[bool]:
    """``[value.is_valid() for value in values]`` for Files, FileSets and Dirs, batched."""
    results = [True] * len(values)
    files: dict[str, list[int]] = defaultdict(list)
    sets: dict[str, list[int]] = defaultdict(list)
    for index, value in enumerate(values):
        if value._hash is None:
            continue  # never hashed, so nothing recorded to compare with
        if isinstance(value, FileSet):
            protocol = get_protocol(value.pattern)
            group = sets
        elif isinstance(value, File):
            protocol = value.protocol
            group = files
        else:
            results[index] = value.is_valid()
            continue
        if protocol == "local":
            results[index] = value.is_valid()  # a stat (or a local glob): cheap enough
        else:
            group[protocol].append(index)
    for protocol, indexes in files.items():
        urls = list(dict.fromkeys(values[i].path for i in indexes))
        current = dict(zip(urls, get_support(protocol).hashes(urls)))
        for i in indexes:
            results[i] = current[values[i].path] == values[i]._hash
    for protocol, indexes in sets.items():
        patterns = list(dict.fromkeys(values[i].pattern for i in indexes))
        listings = dict(zip(patterns, get_support(protocol).listings(patterns)))
        for i in indexes:
            value = values[i]
            results[i] = value.hash_listing(listings[value.pattern]) == value._hash
    return results
