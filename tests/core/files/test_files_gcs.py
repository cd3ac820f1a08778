"""Files on Google Cloud Storage (gcp-storage-emulator over HTTP)."""

from __future__ import annotations

import pickle
from pathlib import Path

from redun import Dir, File, FileSet
from redun.hashing import hash_struct
from redun.values import are_values_valid


def test_gcs_file_io_and_hash(gcs_bucket: str, tmp_path: Path) -> None:
    file = File(f"{gcs_bucket}/dir/a.txt")
    assert file.protocol == "gs"
    missing_hash = file.hash
    assert missing_hash == hash_struct(["File", "gs", file.path, ""])
    assert not file.exists()

    file.write("hello gcs")
    assert file.exists() and file.size() == 9 and file.read() == "hello gcs"
    md5 = file.fs.info(file.path)["md5Hash"]
    assert file.hash == hash_struct(["File", "gs", file.path, md5])
    recorded = pickle.loads(pickle.dumps(file))
    assert recorded.is_valid()

    File(file.path).write("HELLO GCS")  # same size, new content
    assert not recorded.is_valid()
    assert are_values_valid([recorded, File(file.path)]) == [False, True]

    back = file.copy_to(File(str(tmp_path / "a.txt")))
    assert Path(back.path).read_text() == "HELLO GCS"
    file.remove()
    assert not file.exists() and File(file.path).hash == missing_hash


def test_gcs_fileset_and_dir(gcs_bucket: str) -> None:
    for name in ("a.txt", "b.log", "sub/c.txt"):
        File(f"{gcs_bucket}/d/{name}").write(name)
    directory = Dir(f"{gcs_bucket}/d")
    assert [directory.rel_path(f.path) for f in directory] == ["a.txt", "b.log", "sub/c.txt"]
    assert [f.hash for f in directory] == [File(f.path).hash for f in directory]
    texts = FileSet(f"{gcs_bucket}/d/*.txt")
    assert [f.basename() for f in texts] == ["a.txt"]
    assert directory.hash and texts.hash
    File(f"{gcs_bucket}/d/sub/c.txt").write("changed")
    assert are_values_valid([texts, directory]) == [True, False]
