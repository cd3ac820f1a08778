"""A started job's row waits briefly for the job's end: one insert instead of insert + update."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from redun.backends.base import JobEnd, JobStart
from redun.backends.db import RedunBackend, writer
from redun.backends.db.batch import Batch, WaitingJobs, Written


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def start(rec: SimpleNamespace, job_id: str, parent: str | None = None) -> JobStart:
    return JobStart(job_id, "x1", parent, rec.add.hash, rec.now(), may_wait=True)


def test_row_waits_and_merges_with_its_end_in_a_later_batch(rec: SimpleNamespace) -> None:
    waiting = WaitingJobs()
    first = Batch(Written(), waiting)
    first.add(start(rec, "j1"))
    first.add(JobStart("j0", "x1", None, rec.add.hash, rec.now()))  # may not wait
    first.hold_back_unfinished()
    assert list(first.job_inserts) == ["j0"] and len(waiting) == 1

    second = Batch(Written(), waiting)
    second.add(JobEnd("j1", rec.now(), "c" * 40, True))
    assert second.job_inserts["j1"]["call_hash"] == "c" * 40 and not second.job_updates
    assert len(waiting) == 0


def test_a_child_row_brings_its_waiting_parent_first(rec: SimpleNamespace) -> None:
    waiting = WaitingJobs()
    first = Batch(Written(), waiting)
    first.add(start(rec, "parent"))
    first.hold_back_unfinished()
    second = Batch(Written(), waiting)
    second.add(start(rec, "child", parent="parent"))
    second.hold_back_unfinished()  # the child may wait; the parent it names may not
    assert list(second.job_inserts) == ["parent"] and list(waiting._rows) == ["child"]

    same = Batch(Written(), WaitingJobs())  # parent and child within one batch
    same.add(start(rec, "p"))
    same.add(start(rec, "c", parent="p"))
    same.hold_back_unfinished()
    assert list(same.job_inserts) == ["p"]


def test_expired_rows_leave_oldest_first(rec: SimpleNamespace) -> None:
    waiting = WaitingJobs()
    for since, job_id in enumerate(["a", "b", "c"]):
        waiting.hold({"id": job_id}, float(since))
    assert [r["id"] for r in waiting.take_expired(before=1.5)] == ["a", "b"]
    assert waiting.oldest_since() == 2.0
    assert [r["id"] for r in waiting.take_expired(before=math.inf)] == ["c"]


def test_writer_writes_a_waiting_row_alone_once_it_expires(
    backend: RedunBackend,
    db_path: Path,
    rec: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    watch_writes,
) -> None:
    monkeypatch.setattr(writer, "WAIT_FOR_END", 0.0)
    inserted = threading.Event()
    watch_writes(backend, lambda table, rows: table == "job" and inserted.set())
    backend.record_job_start(start(rec, "long-running"))
    assert inserted.wait(10), "the waiting row was never written"
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
    with pytest.raises(Exception, match="gather broke"):
        broken.flush()
    with pytest.raises(Exception, match="gather broke"):  # and records are refused with it
        broken.record_job_start(JobStart("j1", "x1", None, "t" * 40, dt.datetime.now()))
    with pytest.raises(Exception, match="gather broke"):  # closing reports it too
        broken.close()
