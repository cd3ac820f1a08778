"""The File and Dir methods added for every protocol, on local paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from redun import Dir, File


def test_touch_creates_then_sets_times(tmp_path: Path) -> None:
    file = File(str(tmp_path / "new" / "t.txt"))
    file.touch()
    assert file.isfile() and file.read() == ""
    before = file.hash
    file.touch((1_000_000, 1_000_000))
    assert os.stat(file.path).st_mtime == 1_000_000
    assert file.hash != before  # the hash is computed again after touching
    file.write("kept")
    file.touch()
    assert file.read() == "kept"


def test_readlines_isfile_isdir_and_stage_into_a_directory(tmp_path: Path) -> None:
    file = File(str(tmp_path / "a.txt"))
    file.write("1\n2\n")
    assert file.readlines() == ["1\n", "2\n"]
    assert file.isfile() and not file.isdir() and File(str(tmp_path)).isdir()
    assert file.stage("work/").local.path == "work/a.txt"
    assert file.stage("b.txt").local.path == "b.txt"


def test_dir_mkdir_rel_path_and_rmdir(tmp_path: Path) -> None:
    directory = Dir(str(tmp_path / "d" / "e"))
    directory.mkdir()
    assert directory.exists() and list(directory) == []
    directory.file("sub/x.txt").write("x")
    assert [directory.rel_path(f.path) for f in directory] == [os.path.join("sub", "x.txt")]
    with pytest.raises(OSError):
        directory.rmdir()  # not empty
    directory.rmdir(recursive=True)
    assert not directory.exists()
