"""StagingFile and StagingDir: hashing as redun 0.44.1, copying whole directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from redun import Dir, File, StagingDir, StagingFile
from redun.hashing import hash_struct
from redun.staging import StagingError
from redun.values import get_value_hash, is_value_valid


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (root / "sub" / "deeper" / "c.txt").write_text("c")


EXPECTED = {"a.txt": "a", "sub/b.txt": "b", "sub/deeper/c.txt": "c"}


def test_pairs_hash_by_paths_and_are_always_valid(tmp_path: Path) -> None:
    remote = File(str(tmp_path / "r.txt"))
    pair = remote.stage("local.txt")
    assert get_value_hash(pair) == hash_struct(["redun.StagingFile", "local.txt", remote.path])
    remote.write("changed")  # the remote side's content is not part of the pair
    assert get_value_hash(remote.stage("local.txt")) == get_value_hash(pair)
    assert is_value_valid(pair)

    directory = Dir(str(tmp_path / "data"))
    staged = directory.stage()
    assert isinstance(staged, StagingDir)
    assert staged.local.path == "data" and staged.remote is directory
    assert get_value_hash(staged) == hash_struct(["redun.StagingDir", "data", directory.path])
    assert staged == StagingDir("data", directory.path) and staged != pair
    assert repr(staged) == f"StagingDir(local='data', remote={directory.path!r})"


def test_staging_dir_local_to_local(tmp_path: Path) -> None:
    _make_tree(tmp_path / "remote")
    pair = StagingDir(str(tmp_path / "local"), str(tmp_path / "remote"))
    local = pair.stage()
    assert isinstance(local, Dir) and local.path == str(tmp_path / "local")
    assert _tree(tmp_path / "local") == EXPECTED

    (tmp_path / "local" / "sub" / "new.txt").write_text("new")
    remote = pair.unstage()
    assert remote.path == pair.remote.path and remote is not pair.remote
    assert _tree(tmp_path / "remote") == {**EXPECTED, "sub/new.txt": "new"}
    assert remote.hash == Dir(str(tmp_path / "remote")).hash  # the stale hash was dropped


def test_staging_dir_memory_round_trip(tmp_path: Path, memory_root: str) -> None:
    _make_tree(tmp_path / "src")
    # Local -> memory.
    up = StagingDir(str(tmp_path / "src"), f"{memory_root}/data")
    remote = up.unstage()
    assert sorted(f.read() for f in remote) == ["a", "b", "c"]
    assert File(f"{memory_root}/data/sub/deeper/c.txt").read() == "c"
    # Memory -> local, into a directory that does not exist yet.
    down = StagingDir(str(tmp_path / "copy" / "here"), f"{memory_root}/data")
    down.stage()
    assert _tree(tmp_path / "copy" / "here") == EXPECTED


def test_staging_missing_sources(tmp_path: Path, memory_root: str) -> None:
    with pytest.raises(StagingError, match=f"staged input directory {memory_root}/none"):
        StagingDir(str(tmp_path / "l"), f"{memory_root}/none").stage()
    with pytest.raises(StagingError, match="staged output directory .*/nothing does not exist"):
        StagingDir(str(tmp_path / "nothing"), f"{memory_root}/x").unstage()
    with pytest.raises(StagingError, match=f"staged input {memory_root}/gone.txt does not exist"):
        StagingFile("here.txt", f"{memory_root}/gone.txt").stage()


def test_staging_a_file_onto_itself(tmp_path: Path) -> None:
    path = tmp_path / "same.txt"
    path.write_text("keep")
    pair = StagingFile(str(path), str(path))
    assert pair.stage().read() == "keep" and pair.unstage().read() == "keep"


DIR_WORKFLOW = '''
from redun import Dir, script, task

redun_namespace = "scr_dirs"


@task()
def index(src: Dir, dest: str):
    return script(
        """
        echo run >> {RUNS}
        mkdir -p out/lists
        ls -R indir > out/lists/listing.txt
        cat indir/a.txt indir/sub/b.txt > out/joined.txt
        """,
        inputs=[src.stage("indir")],
        outputs={"dir": Dir(dest).stage("out")},
        tempdir=True,
    )
'''


def test_script_with_staged_directories(
    make_module, make_scheduler, memory_root: str, tmp_path: Path, runs
) -> None:
    wf = make_module(DIR_WORKFLOW, RUNS=runs.path)
    File(f"{memory_root}/in/a.txt").write("A\n")
    File(f"{memory_root}/in/sub/b.txt").write("B\n")
    dest = str(tmp_path / "result")

    result = make_scheduler().run(wf.index(Dir(f"{memory_root}/in"), dest))
    out = result["dir"]
    assert type(out) is Dir and out.path == dest
    assert (tmp_path / "result" / "joined.txt").read_text() == "A\nB\n"
    assert "b.txt" in (tmp_path / "result" / "lists" / "listing.txt").read_text()
    assert runs() == 1

    cached = make_scheduler().run(wf.index(Dir(f"{memory_root}/in"), dest))["dir"]
    assert (cached.path, cached.hash) == (out.path, out.hash)
    assert runs() == 1
    (tmp_path / "result" / "joined.txt").unlink()  # part of the output directory is gone
    make_scheduler().run(wf.index(Dir(f"{memory_root}/in"), dest))
    assert runs() == 2
    assert (tmp_path / "result" / "joined.txt").read_text() == "A\nB\n"
