"""Files as values: hashes that react to changes, validity, pickling, staging, fsspec."""

from __future__ import annotations

import hashlib
import os
import pickle
import uuid

import fsspec
import pytest

from redun.file import ContentFile, Dir, File, FileSet, IFile, StagingFile, get_protocol
from redun.hashing import hash_struct
from redun.values import deserialize_value, get_value_hash, serialize_value

MTIME = 1_700_000_000.0


def _write(path, text, mtime=MTIME):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return str(path)


# Local File ----------------------------------------------------------------------------


def test_file_hash_is_path_size_mtime(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    file = File(path)
    assert file.hash == hash_struct(["File", "local", path, 5, str(MTIME)])
    assert get_value_hash(file) == file.hash


def test_missing_file(tmp_path):
    path = str(tmp_path / "missing.txt")
    file = File(path)
    assert not file.exists()
    assert file.hash == hash_struct(["File", "local", path, -1, "-1"])
    with pytest.raises(FileNotFoundError):
        file.read()


def test_file_hash_changes_with_content_and_mtime(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    original = File(path).hash
    _write(tmp_path / "a.txt", "hello", mtime=MTIME + 1)
    touched = File(path).hash
    assert touched != original
    _write(tmp_path / "a.txt", "hello!", mtime=MTIME)
    assert File(path).hash not in (original, touched)
    _write(tmp_path / "a.txt", "hello", mtime=MTIME)
    assert File(path).hash == original


def test_cached_hash_and_update_hash(tmp_path):
    path = _write(tmp_path / "a.txt", "one")
    file = File(path)
    first = file.hash
    _write(tmp_path / "a.txt", "two!", mtime=MTIME + 5)
    assert file.hash == first  # memoized until asked to look again
    file.update_hash()
    assert file.hash != first


def test_is_valid_false_after_edit_or_delete(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    file = File(path)
    file.hash  # noqa: B018 - recorded
    assert file.is_valid()
    _write(tmp_path / "a.txt", "hello", mtime=MTIME + 1)
    assert not file.is_valid()

    other = File(_write(tmp_path / "b.txt", "x"))
    other.hash  # noqa: B018
    os.remove(other.path)
    assert not other.is_valid()


def test_pickle_keeps_recorded_hash(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    file = File(path)
    data = pickle.dumps(file)
    _write(tmp_path / "a.txt", "changed", mtime=MTIME + 1)
    clone = pickle.loads(data)
    assert clone.path == path
    assert clone.hash == file.hash  # the hash recorded, not today's
    assert not clone.is_valid()
    stored = deserialize_value("redun.File", serialize_value(file))
    assert stored.hash == file.hash


def test_file_open_for_writing_resets_cached_hash(tmp_path):
    path = _write(tmp_path / "a.txt", "old")
    file = File(path)
    old_hash = file.hash
    with file.open("w") as out:
        out.write("new content")
    assert file.read() == "new content"
    assert file.hash != old_hash
    assert file.hash == File(path).hash

    old_hash = file.hash
    file.write(b"\x00bytes and more")
    assert file.read("rb") == b"\x00bytes and more"
    assert file.hash != old_hash
    assert file.is_valid()


def test_file_write_creates_parent_dirs_and_remove(tmp_path):
    file = File(str(tmp_path / "new" / "dir" / "a.txt"))
    file.write("x")
    assert file.exists() and file.size() == 1
    file.remove()
    assert not file.exists()


def test_file_equality_and_names(tmp_path):
    path = _write(tmp_path / "sub" / "a.txt", "x")
    assert File(path) == File(path)
    assert File(path) != File(path + "2")
    assert File(path) != IFile(path)
    assert len({File(path), File(path)}) == 1
    assert File(path).basename() == "a.txt"
    assert File(path).dirname() == str(tmp_path / "sub")


def test_file_url_is_local(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    file = File("file://" + path)
    assert file.protocol == "local"
    assert file.exists() and file.read() == "hello"
    assert get_protocol("s3://bucket/key") == "s3"
    assert get_protocol("relative/path") == "local"


# IFile and ContentFile ---------------------------------------------------------------


def test_ifile_hashes_path_only(tmp_path):
    path = _write(tmp_path / "a.txt", "hello")
    file = IFile(path)
    assert file.hash == hash_struct(["IFile", path])
    _write(tmp_path / "a.txt", "different", mtime=MTIME + 9)
    assert IFile(path).hash == file.hash
    assert file.is_valid()
    assert IFile(path + "x").hash != file.hash


def test_content_file_hashes_content(tmp_path):
    path = _write(tmp_path / "a.txt", "hello\n")
    file = ContentFile(path)
    digest = hashlib.sha512(b"hello\n").hexdigest()[:40]
    assert file.hash == hash_struct(["ContentFile", path, digest])
    # Only the content counts: touching it keeps the hash and the validity.
    _write(tmp_path / "a.txt", "hello\n", mtime=MTIME + 100)
    assert ContentFile(path).hash == file.hash
    assert file.is_valid()
    _write(tmp_path / "a.txt", "HELLO\n", mtime=MTIME)
    assert ContentFile(path).hash != file.hash
    assert not file.is_valid()
    assert ContentFile(str(tmp_path / "none")).hash != file.hash


def test_file_types_pickle_as_themselves(tmp_path):
    path = _write(tmp_path / "a.txt", "x")
    for cls in (File, IFile, ContentFile):
        clone = pickle.loads(pickle.dumps(cls(path)))
        assert type(clone) is cls
        assert clone.hash == cls(path).hash


# FileSet and Dir -------------------------------------------------------------------------


def test_fileset_hash_over_matching_files(tmp_path):
    _write(tmp_path / "a.txt", "a")
    _write(tmp_path / "b.txt", "b")
    _write(tmp_path / "c.log", "c")
    fileset = FileSet(str(tmp_path / "*.txt"))
    assert [f.basename() for f in fileset] == ["a.txt", "b.txt"]
    files = sorted(str(tmp_path / n) for n in ("a.txt", "b.txt"))
    # As redun 0.44.1: type name, pattern, then the file hashes sorted.
    assert fileset.hash == hash_struct(
        ["FileSet", fileset.pattern] + sorted(File(p).hash for p in files)
    )
    assert fileset.is_valid()

    _write(tmp_path / "c.log", "ignored", mtime=MTIME + 1)
    assert FileSet(fileset.pattern).hash == fileset.hash
    _write(tmp_path / "b.txt", "edited", mtime=MTIME + 1)
    assert FileSet(fileset.pattern).hash != fileset.hash
    assert not fileset.is_valid()


def test_fileset_hash_changes_when_files_appear(tmp_path):
    _write(tmp_path / "a.txt", "a")
    before = FileSet(str(tmp_path / "*.txt")).hash
    _write(tmp_path / "new.txt", "n")
    assert FileSet(str(tmp_path / "*.txt")).hash != before


def test_dir_hash_over_all_nested_files(tmp_path):
    root = tmp_path / "data"
    _write(root / "a.txt", "a")
    _write(root / "sub" / "b.txt", "b")
    directory = Dir(str(root))
    assert directory.exists()
    names = [os.path.relpath(f.path, root) for f in directory]
    assert names == ["a.txt", os.path.join("sub", "b.txt")]  # files only, no directories
    first = directory.hash
    assert get_value_hash(directory) == first
    # As redun 0.44.1: "Dir", the path, then the hashes of every file below it, sorted.
    assert first == hash_struct(["Dir", str(root)] + sorted(f.hash for f in directory))
    assert directory.file("sub/b.txt").read() == "b"

    _write(root / "sub" / "deeper" / "c.txt", "c")
    assert Dir(str(root)).hash != first
    assert not directory.is_valid()

    clone = pickle.loads(pickle.dumps(directory))
    assert (type(clone), clone.path, clone.hash) == (Dir, directory.path, first)


def test_dir_ignores_trailing_slash_and_sees_mtime_change(tmp_path):
    root = tmp_path / "data"
    _write(root / "a.txt", "a")
    first = Dir(str(root)).hash
    _write(root / "a.txt", "a", mtime=MTIME + 3)
    assert Dir(str(root) + "/").hash != first
    assert Dir(str(root) + "/").path == str(root)


# StagingFile -------------------------------------------------------------------------------


def test_staging_file_stage_and_unstage_copy(tmp_path):
    remote = File(_write(tmp_path / "remote" / "in.txt", "remote data"))
    local_path = str(tmp_path / "local" / "in.txt")
    staging = remote.stage(local_path)
    assert isinstance(staging, StagingFile)
    assert staging.remote is remote
    assert staging.local.path == local_path

    staged = staging.stage()
    assert staged.path == local_path
    assert staged.read() == "remote data"

    remote_hash = remote.hash
    staged.write("local result")
    back = staging.unstage()
    assert back.path == remote.path and back is not remote
    assert back.read() == "local result"
    assert back.hash == File(remote.path).hash  # the copy's File is hashed afresh
    # The pair's own File keeps the hash a call was recorded with.
    assert remote.hash == remote_hash


def test_staging_file_hash_and_subvalues(tmp_path):
    remote = File(_write(tmp_path / "r.txt", "r"))
    local = File(_write(tmp_path / "l.txt", "l"))
    staging = StagingFile(local, remote)
    # As redun 0.44.1: a staging pair is an address, hashed by its two paths, never invalid.
    assert get_value_hash(staging) == hash_struct(["redun.StagingFile", local.path, remote.path])
    assert list(staging.iter_subvalues()) == []
    assert StagingFile(local.path, remote.path).remote.path == remote.path
    assert remote.stage().local.path == "r.txt"  # default: basename in the working dir


# fsspec memory:// ------------------------------------------------------------------------


@pytest.fixture
def memory_root():
    root = f"memory://lang-tests-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_memory_file_open_exists_and_hash(memory_root):
    file = File(f"{memory_root}/a.txt")
    assert file.protocol == "memory"
    assert not file.exists()
    missing_hash = file.hash
    with file.open("w") as out:
        out.write("hello")
    assert file.exists()
    assert file.read() == "hello"
    assert file.size() == 5
    assert file.hash != missing_hash
    assert file.hash == File(file.path).hash
    assert file.is_valid()

    recorded = file.hash
    file.write("world")  # same size, new content
    assert file.hash != recorded
    assert File(file.path).hash == file.hash

    clone = pickle.loads(pickle.dumps(file))
    assert clone.hash == file.hash and clone.is_valid()
    file.remove()
    assert not file.exists()
    assert not clone.is_valid()


def test_memory_file_copies_to_and_from_local(memory_root, tmp_path):
    remote = File(f"{memory_root}/in.txt")
    remote.write("from memory")
    staging = remote.stage(str(tmp_path / "in.txt"))
    assert staging.stage().read() == "from memory"
    staging.local.write("from disk")
    staging.unstage()
    assert remote.read() == "from disk"


def test_memory_fileset_and_dir(memory_root):
    File(f"{memory_root}/d/a.txt").write("a")
    File(f"{memory_root}/d/sub/b.txt").write("b")
    File(f"{memory_root}/d/c.log").write("c")
    texts = FileSet(f"{memory_root}/d/*.txt")
    assert [f.read() for f in texts] == ["a"]
    directory = Dir(f"{memory_root}/d")
    assert sorted(f.read() for f in directory) == ["a", "b", "c"]
    first = directory.hash
    File(f"{memory_root}/d/sub/new.txt").write("n")
    assert Dir(f"{memory_root}/d").hash != first
