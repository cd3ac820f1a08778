"""Code packages (deterministic, include/exclude) and the scratch layout's round trips."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from redun.executors.remote import scratch
from redun.executors.remote.code import package_code, unpack_code, upload_code
from redun.file import File


def _tree(root: Path) -> None:
    (root / "pkg").mkdir()
    (root / "workflow.py").write_text("X = 1\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "lib.py").write_text("Y = 2\n")
    (root / "notes.txt").write_text("not code\n")
    (root / ".redun").mkdir()
    (root / ".redun" / "skip.py").write_text("")


def test_package_is_deterministic_and_content_addressed(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = package_code(str(tmp_path))
    os.utime(tmp_path / "workflow.py", (1, 1))  # times do not matter
    second = package_code(str(tmp_path))
    assert first.hash == second.hash and first.data == second.data
    assert first.files == ("pkg/__init__.py", "pkg/lib.py", "workflow.py")
    (tmp_path / "workflow.py").write_text("X = 2\n")
    assert package_code(str(tmp_path)).hash != first.hash


def test_includes_and_excludes(tmp_path: Path) -> None:
    _tree(tmp_path)
    package = package_code(
        str(tmp_path), includes=["**/*.py", "*.txt"], excludes=["pkg/*", ".redun/**"]
    )
    assert package.files == ("notes.txt", "workflow.py")


def test_upload_once_and_unpack(tmp_path: Path) -> None:
    src, scratch_dir, dest = tmp_path / "src", tmp_path / "scratch", tmp_path / "dest"
    src.mkdir()
    _tree(src)
    package = package_code(str(src))
    url = upload_code(package, str(scratch_dir))
    assert url == f"{scratch_dir}/code/{package.hash}.tar.gz"
    os.utime(url, (5, 5))
    assert upload_code(package, str(scratch_dir)) == url
    assert os.stat(url).st_mtime == 5  # not written again
    assert sorted(unpack_code(url, str(dest))) == list(package.files)
    assert (dest / "pkg" / "lib.py").read_text() == "Y = 2\n"
    with tarfile.open(url) as tar:
        assert {m.mtime for m in tar.getmembers()} == {0}


def test_scratch_layout_and_pickles(tmp_path: Path) -> None:
    paths = scratch.job_paths(str(tmp_path) + "/", "abc123")
    assert paths.input == f"{tmp_path}/jobs/abc123/input"
    assert (paths.output, paths.error) == (
        f"{tmp_path}/jobs/abc123/output",
        f"{tmp_path}/jobs/abc123/error",
    )
    scratch.write_pickle(paths.input, ((1, File("x")), {"k": [2]}))
    args, kwargs = scratch.read_pickle(paths.input)
    assert args == (1, File("x")) and kwargs == {"k": [2]}
    assert not scratch.exists(paths.output)
    scratch.remove(paths.output)  # missing: nothing to do
    scratch.remove(paths.input)
    assert not scratch.exists(paths.input)


def test_scratch_on_a_url() -> None:
    paths = scratch.job_paths("memory://redun-test-scratch", "e1")
    scratch.write_pickle(paths.output, {"v": 1})
    assert scratch.read_pickle(paths.output) == {"v": 1}
    scratch.remove(paths.output)
    assert not scratch.exists(paths.output)
