"""File, Dir and FileSet hashes equal redun 0.44.1's on the same files (0.44.1 from PyPI)."""

from __future__ import annotations

import json
from pathlib import Path

from redun.file import Dir, File, FileSet, IFile
from tests.acceptance.test_redun_0_44_reads_our_record import reference, reference_bin  # noqa: F401

HASHES = """
import json, sys
from redun.file import Dir, File, FileSet, IFile
root = sys.argv[1]
print(json.dumps([
    File(root + "/d/a.txt").hash,
    File(root + "/missing.txt").hash,
    IFile(root + "/d/a.txt").hash,
    Dir(root + "/d").hash,
    Dir(root + "/d/").hash,
    FileSet(root + "/d/**/*.txt").hash,
    FileSet(root + "/d/*.txt").hash,
]))
"""


def test_local_file_dir_and_fileset_hashes_match_redun_0_44(reference_bin, tmp_path: Path):  # noqa: F811
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name, text in (("a.txt", "a"), ("b.txt", "bb"), ("sub/c.txt", "c"), ("sub/d.log", "d")):
        (tmp_path / "d" / name).write_text(text)
    script = tmp_path / "hashes.py"
    script.write_text(HASHES)
    proc = reference(reference_bin, tmp_path, "python", str(script), str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    root = str(tmp_path)
    ours = [
        File(root + "/d/a.txt").hash,
        File(root + "/missing.txt").hash,
        IFile(root + "/d/a.txt").hash,
        Dir(root + "/d").hash,
        Dir(root + "/d/").hash,
        FileSet(root + "/d/**/*.txt").hash,
        FileSet(root + "/d/*.txt").hash,
    ]
    assert ours == json.loads(proc.stdout)
