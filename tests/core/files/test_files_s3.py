"""Files on S3 (moto's server over HTTP): I/O, copies both ways, ETag hashes, FileSet and Dir."""

from __future__ import annotations

import pickle
from pathlib import Path

import fsspec
import pytest

from redun import Dir, File, FileSet
from redun.hashing import hash_struct


@pytest.fixture
def raw_s3(s3_endpoint: str) -> fsspec.AbstractFileSystem:
    """An s3fs client of its own (not the one redun uses), like another program's."""
    return fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)


def test_s3_file_write_read_exists_size_remove(s3_bucket: str) -> None:
    file = File(f"{s3_bucket}/dir/a.txt")
    assert file.protocol == "s3"
    assert not file.exists()
    file.write("hello s3")
    assert file.exists() and file.isfile() and not file.isdir()
    assert file.read() == "hello s3"
    assert file.read("rb") == b"hello s3"
    assert file.size() == 8
    assert File(f"{s3_bucket}/dir").isdir()
    file.write("line 1\nline 2\n")
    assert file.readlines() == ["line 1\n", "line 2\n"]
    assert (file.basename(), file.dirname()) == ("a.txt", f"{s3_bucket}/dir")
    file.remove()
    assert not file.exists()


def test_s3_hash_is_the_etag_as_redun_0_44_1_records_it(s3_bucket: str, raw_s3) -> None:
    path = f"{s3_bucket}/data.txt"
    missing = File(path)
    assert missing.hash == hash_struct(["File", "s3", path, ""])

    file = File(path)
    file.write("hello\n")
    etag = raw_s3.info(path)["ETag"]
    assert etag == '"b1946ac92492d2347c6235b4d2611184"'  # md5 of the content, quoted
    assert file.hash == hash_struct(["File", "s3", path, etag])
    assert File(path).hash == file.hash
    assert file.is_valid()

    recorded = pickle.loads(pickle.dumps(file))
    with raw_s3.open(path, "wb") as out:
        out.write(b"HELLO\n")  # the same size: only the ETag tells
    assert File(path).hash != recorded.hash
    assert not recorded.is_valid()
    raw_s3.rm(path)
    assert File(path).hash == missing.hash


def test_s3_touch_creates_an_empty_object_and_keeps_an_existing_one(s3_bucket: str) -> None:
    file = File(f"{s3_bucket}/touched.txt")
    file.touch()
    assert file.exists() and file.read() == ""
    file.write("kept")
    file.touch()
    assert file.read() == "kept"
    with pytest.raises(ValueError, match="needs a local file"):
        file.touch((1, 1))


def test_copy_local_to_s3_to_s3_to_local(s3_bucket: str, tmp_path: Path, raw_s3) -> None:
    local = File(str(tmp_path / "in.txt"))
    local.write(b"\x00binary\xff" * 1000)
    remote = local.copy_to(File(f"{s3_bucket}/in.bin"))
    assert remote.read("rb") == local.read("rb")
    copied = remote.copy_to(File(f"{s3_bucket}/copy/in.bin"))
    assert copied.hash == hash_struct(["File", "s3", copied.path, raw_s3.info(copied.path)["ETag"]])
    back = copied.copy_to(File(str(tmp_path / "deep" / "out.bin")))
    assert Path(back.path).read_bytes() == local.read("rb")
    assert File(f"{s3_bucket}/copy/in.bin").copy_to(back, skip_if_exists=True) is back
    with pytest.raises(FileNotFoundError):
        File(f"{s3_bucket}/nope.txt").copy_to(File(str(tmp_path / "nope.txt")))


def test_s3_fileset_and_dir_list_once_and_react(s3_bucket: str) -> None:
    for name in ("a.txt", "b.txt", "c.log", "sub/d.txt"):
        File(f"{s3_bucket}/d/{name}").write(name)
    texts = FileSet(f"{s3_bucket}/d/*.txt")
    assert [f.path for f in texts] == [f"{s3_bucket}/d/a.txt", f"{s3_bucket}/d/b.txt"]
    # Files from a listing carry the hash the listing gave, equal to a HEAD's.
    assert [f.hash for f in texts] == [File(f.path).hash for f in texts]
    assert texts.hash == hash_struct(["FileSet", texts.pattern] + sorted(f.hash for f in texts))

    directory = Dir(f"{s3_bucket}/d/")
    assert directory.path == f"{s3_bucket}/d" and directory.exists()
    assert [directory.rel_path(f.path) for f in directory] == [
        "a.txt",
        "b.txt",
        "c.log",
        "sub/d.txt",
    ]
    assert directory.file("sub/d.txt").read() == "sub/d.txt"
    dir_hash, texts_hash = directory.hash, texts.hash
    assert directory.is_valid() and texts.is_valid()

    File(f"{s3_bucket}/d/c.log").write("C.LOG")  # not in the *.txt set
    assert texts.is_valid() and not directory.is_valid()
    File(f"{s3_bucket}/d/sub/new.txt").write("n")
    assert Dir(directory.path).hash not in (dir_hash,)
    File(f"{s3_bucket}/d/b.txt").write("B.TXT")
    assert FileSet(texts.pattern).hash != texts_hash and not texts.is_valid()

    Dir(f"{s3_bucket}/d/sub").rmdir(recursive=True)
    assert not File(f"{s3_bucket}/d/sub/d.txt").exists()


def test_s3_hash_equals_the_one_redun_0_44_1_computed(s3_endpoint: str) -> None:
    # Vectors from redun 0.44.1 hashing these two URLs on a moto server.
    fsspec.filesystem("s3").mkdir("cmpb")
    file = File("s3://cmpb/dir/data.txt")
    file.write("hello\n")
    assert file.hash == "104c55aabc296da915d5680789e6825ff99d73a5"
    assert File("s3://cmpb/missing").hash == "e818694247f8cab03008f25c0ec624cb872860e5"
