"""A SQLite file's batches are committed by a child process; its failures reach flush()."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from redun.backends.base import BackendError
from redun.backends.db import RedunBackend, sqlite_worker
from redun.backends.db.sqlite_process import PIPE_SIZE, SqliteProcess


@pytest.fixture
def started(db_path: Path, rec: SimpleNamespace) -> RedunBackend:
    """A backend on a file whose write process has committed a first record (task add)."""
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    backend.record_task(rec.add)
    backend.flush()  # returns once the child has committed
    return backend


def test_batches_commit_in_a_child_process_that_ends_with_close(
    started: RedunBackend, query
) -> None:
    backend = started
    assert query("SELECT name FROM task") == [("add",)]
    process = backend._writer._process  # (started by the first record)
    assert isinstance(process, SqliteProcess)
    child = process._process
    assert child.pid != os.getpid() and child.poll() is None
    backend.close()
    assert child.returncode == 0


def test_in_memory_records_are_written_by_the_thread(rec: SimpleNamespace) -> None:
    backend = RedunBackend()
    backend.load()
    backend.record_task(rec.add)
    backend.flush()
    assert backend._writer._process is None
    backend.close()


def test_reading_starts_no_write_process(db_path: Path) -> None:
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    backend.get_evaluations(["e" * 40])
    backend.flush()
    assert not isinstance(backend._writer._process, SqliteProcess)
    backend.close()


def test_a_killed_write_process_is_reported_at_flush(
    started: RedunBackend, rec: SimpleNamespace, query
) -> None:
    backend = started
    child = backend._writer._process._process
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    backend.record_task(rec.main)
    with pytest.raises(BackendError, match=r"write process ended unexpectedly \(exit code -9\)"):
        backend.flush()
    with pytest.raises(BackendError, match="write process ended"):  # and again at close
        backend.close()
    assert query("SELECT name FROM task") == [("add",)]


def task_row(letter: str, name: str) -> tuple:
    return ("task", letter * 40, name, "", "")


def test_a_failed_batch_leaves_nothing_and_later_batches_commit(db_path: Path, query) -> None:
    RedunBackend(f"sqlite:///{db_path}").upgrade()  # the schema
    process = SqliteProcess(str(db_path), 5.0, ())
    committed: list[dict[str, int]] = []
    process.on_commit = committed.append
    # The task row is inserted before the value row that breaks a NOT NULL constraint.
    failing = [task_row("a", "first"), ("value", None, "builtins.int", "pickle", b"")]
    process.send((failing, True, 0.0, 5.0))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: value"):
        process.sync()
    process.send(([task_row("b", "second"), task_row("c", "third")], True, 0.0, 5.0))
    process.close()
    assert query("SELECT name FROM task ORDER BY name") == [("second",), ("third",)]
    assert committed == [{"task": 2}]


def test_batches_sharing_a_transaction_fail_alone(db_path: Path, query) -> None:
    """Batches that come together share one transaction; a failing one, in its savepoint,
    leaves nothing of itself, and the others commit."""
    RedunBackend(f"sqlite:///{db_path}").upgrade()
    process = SqliteProcess(str(db_path), 5.0, ())
    committed: list[dict[str, int]] = []
    process.on_commit = committed.append
    bad_value = ("value", None, "builtins.int", "pickle", b"")
    process.send(([task_row("a", "first")], False, 0.0, 5.0))
    process.send(([task_row("b", "second"), bad_value], False, 0.0, 5.0))
    process.send(([task_row("c", "third")], True, 0.0, 5.0))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: value"):
        process.sync()
    process.close()
    assert query("SELECT name FROM task ORDER BY name") == [("first",), ("third",)]
    assert committed == [{"task": 1}, {"task": 1}]


def test_a_batch_without_a_flush_commits_soon_by_itself(db_path: Path, query) -> None:
    RedunBackend(f"sqlite:///{db_path}").upgrade()
    process = SqliteProcess(str(db_path), 5.0, ())
    done = threading.Event()
    process.on_commit = lambda counts: done.set()
    process.send(([task_row("a", "first")], False, 0.0, 5.0))
    assert done.wait(10), "the batch was never committed"
    assert query("SELECT name FROM task") == [("first",)]
    process.close()


def test_a_batch_with_nothing_to_write_is_answered_at_once(db_path: Path) -> None:
    RedunBackend(f"sqlite:///{db_path}").upgrade()
    process = SqliteProcess(str(db_path), 5.0, ())
    process.send(([], False, 0.0, 5.0))
    started = time.monotonic()
    process.sync()  # (no transaction to wait for)
    assert time.monotonic() - started < sqlite_worker.COMMIT_AFTER
    process.close()


def test_reads_run_after_the_batches_sent_before_them(db_path: Path) -> None:
    RedunBackend(f"sqlite:///{db_path}").upgrade()
    process = SqliteProcess(str(db_path), 5.0, ())
    process.send(([task_row("a", "first")], True, 0.0, 5.0))
    rows = process.read("SELECT name FROM task WHERE hash IN (?, ?)", ("a" * 40, "b" * 40))
    assert rows == [("first",)]
    with pytest.raises(sqlite3.OperationalError, match="no such table: nope"):
        process.read("SELECT * FROM nope")
    process.sync()  # a failed read is the reader's error, not a batch's
    process.close()


def test_ctrl_c_leaves_the_write_process_to_its_parent(
    started: RedunBackend, rec: SimpleNamespace, query
) -> None:
    """Ctrl-C signals the whole process group: the parent still records what it had."""
    backend = started
    os.kill(backend._writer._process._process.pid, signal.SIGINT)
    backend.record_task(rec.main)
    backend.close()
    assert sorted(query("SELECT name FROM task")) == [("add",), ("main",)]


def test_the_pipes_to_the_child_hold_a_whole_slice(started: RedunBackend) -> None:
    """1 MiB pipes: a batch or a slice of lookups never waits for the other side to read."""
    fcntl = pytest.importorskip("fcntl")
    child = started._writer._process._process
    for pipe in (child.stdin, child.stdout):
        assert fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_SIZE
    started.close()
