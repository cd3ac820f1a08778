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
    with (kind, number of messages) for each kind of row message (a table's name, or
    "job_end") in each batch the writer sends to the database, as it sends it; ``on_write``
    is called with (kind, messages) too.
    """

    def watch(backend, on_write=None) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []

        def on_batch(messages: list[tuple]) -> None:
            kinds: dict[str, list[tuple]] = {}
            for message in messages:
                kinds.setdefault(message[0], []).append(message)
            for kind, of_kind in kinds.items():
                seen.append((kind, len(of_kind)))
                if on_write is not None:
                    on_write(kind, of_kind)

        backend._writer.on_batch.append(on_batch)
        return seen

    return watch
