"""Handles hash, record and cache as in redun 0.44.1 (from PyPI): same rows, shared cache."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from tests.acceptance.test_hello_world import redun
from tests.acceptance.test_redun_0_44_reads_our_record import (  # noqa: F401
    assert_fully_cached,
    reference,
    reference_bin,
)

FLOW = """
import sqlite3

from redun import Handle, merge_handles, task

redun_namespace = "compat_handles"


class Store(Handle):
    def __init__(self, name, path):
        self.path = path

    def add(self, text):
        with sqlite3.connect(self.path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS log (text TEXT)")
            conn.execute("INSERT INTO log VALUES (?)", (text,))


@task()
def write(store, text):
    store.add(text)
    return store


@task()
def count(store):
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT count(*) FROM log").fetchone()[0]


@task()
def main(n: int = 2):
    store = Store("store", "service.db")
    first = write(store, "a")
    second = write(store, "b")
    merged = merge_handles([first, second])
    return count(write(merged, str(n)))
"""


def _handle_record(db: Path) -> dict[str, set[tuple]]:
    with sqlite3.connect(db) as conn:
        return {
            "handle": set(conn.execute("SELECT * FROM handle")),
            "handle_edge": set(conn.execute("SELECT * FROM handle_edge")),
            "call_node": set(
                conn.execute("SELECT call_hash, task_name, value_hash FROM call_node")
            ),
        }


def test_handle_hashes_and_rows_match_redun_0_44(reference_bin, tmp_path: Path):  # noqa: F811
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    for workdir in (ours_dir, theirs_dir):
        workdir.mkdir()
        (workdir / "flow.py").write_text(textwrap.dedent(FLOW))

    ours = redun(ours_dir, "run", "flow.py", "main")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip().splitlines()[-1] == "3"
    our_record = _handle_record(ours_dir / ".redun" / "redun.db")
    theirs = reference(reference_bin, theirs_dir, "redun", "run", "flow.py", "main")
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.strip().splitlines()[-1] == "3"

    # The same forks (keys "1" and "2": one handle into two calls), states and merge edges.
    their_record = _handle_record(theirs_dir / ".redun" / "redun.db")
    assert {row[3] for row in our_record["handle"]} == {"", "1", "2"}
    assert our_record == their_record

    # redun 0.44.1 finds every call of our record valid (handle states included) and reuses it.
    again = reference(reference_bin, ours_dir, "redun", "run", "flow.py", "main")
    assert_fully_cached(again, "compat_handles", ["count", "main", "write", "write", "write"])
    assert again.stdout.strip().splitlines()[-1] == "3"
    with sqlite3.connect(ours_dir / "service.db") as conn:
        assert conn.execute("SELECT count(*) FROM log").fetchone() == (3,)
