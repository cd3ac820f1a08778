"""are_values_valid: the same answers as is_value_valid, with remote checks batched."""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path

import pytest

from redun import Dir, File, FileSet, IFile
from redun.values import are_values_valid, is_value_valid


def recorded(value):
    """The value as a later run reads it back from the record (hashes kept, objects new)."""
    return pickle.loads(pickle.dumps(value))


def test_many_s3_files_are_checked_with_concurrent_head_requests(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs  # here, not at the top: the S3 fixture decides between skip and fail

    files = [File(f"{s3_bucket}/many/{i:03}.txt") for i in range(20)]
    for i, file in enumerate(files):
        file.write(f"content {i}")
    values = [recorded(file) for file in files] + [recorded({"all": files})]

    calls, in_flight, most = [], [0], [0]
    original = s3fs.S3FileSystem._info

    async def counting_info(self, path, *args, **kwargs):
        calls.append(path)
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        try:
            return await original(self, path, *args, **kwargs)
        finally:
            in_flight[0] -= 1

    monkeypatch.setattr(s3fs.S3FileSystem, "_info", counting_info)
    assert are_values_valid(values) == [True] * 21
    assert len(calls) == 20  # one HEAD per distinct object, shared by the values holding it
    assert most[0] > 1  # in flight together, not one after another

    File(files[7].path).write("changed")
    File(files[13].path).remove()
    calls.clear()
    expected = [i not in (7, 13) for i in range(20)] + [False]
    assert are_values_valid(values) == expected
    assert len(calls) == 20
    assert [is_value_valid(value) for value in values] == expected


def test_answers_match_is_value_valid_for_mixed_values(tmp_path: Path, s3_bucket: str) -> None:
    local = File(str(tmp_path / "a.txt"))
    local.write("a")
    remote = File(f"{s3_bucket}/r.txt")
    remote.write("r")
    memory = File(f"memory://validity-{uuid.uuid4().hex}/m.txt")
    memory.write("m")
    directory = Dir(f"{s3_bucket}")
    texts = FileSet(str(tmp_path / "*.txt"))
    values = [
        1,
        "text",
        recorded(local),
        [recorded(remote), {"k": (recorded(memory),)}],
        recorded(directory),
        recorded(texts),
        IFile(f"{s3_bucket}/never-checked"),
        File(f"{s3_bucket}/never-hashed"),  # no recorded hash: nothing to compare
    ]
    assert are_values_valid(values) == [True] * len(values)

    os.utime(local.path, (1, 1))
    File(remote.path).write("R")
    assert are_values_valid(values) == [True, True, False, False, False, False, True, True]
    assert [is_value_valid(value) for value in values] == are_values_valid(values)
    assert are_values_valid([]) == []
