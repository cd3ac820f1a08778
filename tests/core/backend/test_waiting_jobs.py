"""A started job's row waits briefly for the job's end: one insert instead of insert + update."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from redun.backends.base import BackendError, JobEnd, JobStart
from redun.backends.db import RedunBackend, writer
from redun.backends.db.rows import JOB, JOB_END, RowWriter, WaitingJobs

WAIT = 5.0


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def start(rec: SimpleNamespace, job_id: str, parent: str | None = None) -> JobStart:
    return JobStart(job_id, "x1", parent, rec.add.hash, rec.now(), may_wait=True)


def job(job_id: str, parent: str | None = None, may_wait: bool = True) -> tuple:
    """A JOB message of a job that has started (and may wait for its end)."""
    return (JOB, job_id, 1, None, "t" * 40, False, None, parent, "x1", may_wait)


def job_ids(table_rows: list[tuple[str, list[tuple]]], table: str = "job") -> list[str]:
    return [row[1] for name, rows in table_rows if name == table for row in rows]


def test_row_waits_and_merges_with_its_end_in_a_later_batch() -> None:
    writer_ = RowWriter("sqlite")
    first = writer_.rows([job("j1"), job("j0", may_wait=False)], False, 100.0, WAIT)
    assert job_ids(first) == ["j0"] and len(writer_.waiting) == 1

    second = writer_.rows([(JOB_END, "j1", 2, "c" * 40, True)], False, 101.0, WAIT)
    assert second == [("job", [(JOB, "j1", 1, 2, "t" * 40, True, "c" * 40, None, "x1", True)])]
    assert len(writer_.waiting) == 0


def test_an_end_without_its_start_is_an_update() -> None:
    table_rows = RowWriter("sqlite").rows([(JOB_END, "j0", 2, None, False)], False, 1.0, WAIT)
    assert table_rows == [("job_update", [("job_update", 2, None, False, "j0")])]


def test_a_child_row_brings_its_waiting_parent_first() -> None:
    writer_ = RowWriter("sqlite")
    writer_.rows([job("parent")], False, 100.0, WAIT)
    # The child may wait; the parent it names may not.
    assert job_ids(writer_.rows([job("child", "parent")], False, 100.5, WAIT)) == ["parent"]
    assert list(writer_.waiting._rows) == ["child"]

    # Parent and child within one batch.
    assert job_ids(RowWriter("sqlite").rows([job("p"), job("c", "p")], False, 1.0, WAIT)) == ["p"]


def test_expired_rows_leave_oldest_first() -> None:
    waiting = WaitingJobs()
    for since, job_id in enumerate(["a", "b", "c"]):
        waiting.hold(job(job_id), float(since))
    assert [r[1] for r in waiting.take_expired(before=1.5)] == ["a", "b"]
    assert [r[1] for r in waiting.take_expired(before=math.inf)] == ["c"]


def test_rows_that_waited_long_enough_come_along_and_a_flush_takes_all() -> None:
    writer_ = RowWriter("sqlite")
    writer_.rows([job("old")], False, 100.0, WAIT)
    writer_.rows([job("new")], False, 103.0, WAIT)
    assert job_ids(writer_.rows([], False, 105.0, WAIT)) == ["old"]
    assert job_ids(writer_.rows([], True, 105.0, WAIT)) == ["new"]
    assert len(writer_.waiting) == 0


def test_an_unknown_message_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record message 'nope'"):
        RowWriter("sqlite").rows([("nope", 1)], False, 1.0, WAIT)


def test_writer_writes_a_waiting_row_alone_once_it_expires(
    backend: RedunBackend,
    db_path: Path,
    rec: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held back in the write process, the row is written once its wait is over, though
    no other record comes to carry it."""
    monkeypatch.setattr(writer, "WAIT_FOR_END", 0.3)
    committed: list[dict[str, int]] = []
    inserted = threading.Event()

    def on_commit(counts: dict[str, int]) -> None:
        committed.append(counts)
        if "job" in counts:
            inserted.set()

    backend._writer.on_commit.append(on_commit)
    backend.record_task(rec.add)
    backend.record_job_start(start(rec, "long-running"))
    assert inserted.wait(10), "the waiting row was never written"
    assert committed[0] == {"task": 1, "value": 1}  # the job's row waited for a later batch
    backend.flush()
    assert rows(db_path, "SELECT id, end_time FROM job") == [("long-running", None)]


def test_flush_writes_waiting_rows(backend: RedunBackend, db_path: Path, rec) -> None:
    backend.record_job_start(start(rec, "j1"))
    backend.flush()
    assert rows(db_path, "SELECT id FROM job") == [("j1",)]
    backend.record_job_end(JobEnd("j1", rec.now(), None, False))
    backend.flush()
    assert rows(db_path, "SELECT id, end_time IS NOT NULL FROM job") == [("j1", 1)]


def test_a_writer_thread_that_dies_reports_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug outside a batch's write must surface at the next flush, not lose records quietly."""

    def broken_gather(self, wake_at):  # noqa: ANN001, ANN202
        raise RuntimeError("gather broke")

    monkeypatch.setattr(writer.BatchWriter, "_gather", broken_gather)
    broken = RedunBackend(f"sqlite:///{db_path}")
    broken.load()
    with contextlib.suppress(BackendError):  # (the thread it starts may have died already)
        broken.record_job_start(JobStart("j0", "x0", None, "t" * 40, dt.datetime.now()))
    with pytest.raises(Exception, match="gather broke"):
        broken.flush()
    with pytest.raises(Exception, match="gather broke"):  # and records are refused with it
        broken.record_job_start(JobStart("j1", "x1", None, "t" * 40, dt.datetime.now()))
    with pytest.raises(Exception, match="gather broke"):  # closing reports it too
        broken.close()
