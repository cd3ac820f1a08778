"""Fixtures for the core tests: schedulers on a SQLite file, temp workflow modules, SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from redun.scheduler import Scheduler


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "redun.db"


@pytest.fixture
def make_scheduler(db_path: Path):
    """Build schedulers that share one SQLite record on disk (like repeated `redun run`s)."""

    def make(**config) -> Scheduler:
        sections = {"backend": {"db_uri": f"sqlite:///{db_path}"}, **config}
        return Scheduler(config=sections)

    return make


@pytest.fixture
def scheduler(make_scheduler) -> Scheduler:
    return make_scheduler()


@pytest.fixture
def query(db_path: Path):
    """Run SQL against the record (after the scheduler has flushed)."""

    def run(sql: str, *params):
        with sqlite3.connect(db_path) as conn:
            return conn.execute(sql, params).fetchall()

    return run


@pytest.fixture
def watch_writes():
    """Watch a backend's writer: ``watch(backend, on_write=None)`` returns a list it fills
    with (table, number of rows) for each table a batch writes, as the batch is written.

    (Every batch goes through the writer's RawStatements, whether its statements then
    run on the writer thread or in the write process.)
    """

    def watch(backend, on_write=None) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []
        raw = backend._writer._raw
        original = raw.execute

        def execute(cursor, table, rows, one_row=False):  # noqa: ANN001, ANN202
            if rows:
                seen.append((table, len(rows)))
                if on_write is not None:
                    on_write(table, rows)
            original(cursor, table, rows, one_row)

        raw.execute = execute
        return seen

    return watch
