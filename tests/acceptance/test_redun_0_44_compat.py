"""A record written by redun 0.44.1 keeps working: its cache is our cache."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from pathlib import Path

from tests.acceptance.test_hello_world import EXAMPLE, ran, redun

DATA = Path(__file__).resolve().parents[1] / "data"


def test_hello_world_record_from_redun_0_44_is_fully_reused(tmp_path: Path):
    # The record was made by `redun run hello_world.py main` (and `--greet Hi`) with redun 0.44.1,
    # on this very example file.
    shutil.copy(EXAMPLE, tmp_path / "hello_world.py")
    (tmp_path / ".redun").mkdir()
    with gzip.open(DATA / "redun_0_44_1_hello_world.db.gz") as src:
        (tmp_path / ".redun" / "redun.db").write_bytes(src.read())

    for args, expected in (
        (["main"], "'Hello, World!'"),
        (["main", "--greet", "Hi"], "'Hi, World!'"),
    ):
        proc = redun(tmp_path, "run", "hello_world.py", *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == expected
        assert ran(proc) == [], proc.stderr  # every call came from redun 0.44.1's record
        assert proc.stderr.count("Cached Job") == 3

    with sqlite3.connect(tmp_path / ".redun" / "redun.db") as conn:
        executions = conn.execute("select count(*) from execution").fetchone()[0]
        open_jobs = conn.execute("select count(*) from job where end_time is null").fetchone()[0]
    assert executions == 4
    assert open_jobs == 0

    log = redun(tmp_path, "log")
    assert log.returncode == 0, log.stderr
    assert log.stdout.count("Exec ") == 4
