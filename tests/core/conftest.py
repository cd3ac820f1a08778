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
