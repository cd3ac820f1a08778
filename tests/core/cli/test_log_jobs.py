"""`redun log --job`'s listing of every job: the arguments read by a forked child, and
the same listing when the child cannot give them."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from log_record import LogRecord, build_record

from redun.backends.db import joblines
from redun.cli import log_jobs
from redun.cli.log_jobs import ForkedCall


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> LogRecord:
    return build_record(tmp_path_factory.mktemp("log-jobs-record"))


def listing(record: LogRecord) -> list[str]:
    result = record.redun("log", "--job")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_listing_is_the_same_when_the_child_fails(
    record: LogRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = listing(record)
    assert len(forked) == 15
    assert any(line.endswith("flow.write('out.txt', 'xxxx', 4)") for line in forked)

    def broken(path: str, hash_range: tuple[str, str] | None) -> dict[str, str]:
        raise RuntimeError("the child cannot read")

    monkeypatch.setattr(log_jobs, "_file_call_args", broken)
    assert listing(record) == forked


def test_argument_rows_split_anywhere_give_every_call_whole(
    record: LogRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = sqlite3.connect(record.db)
    try:
        cursor = conn.cursor()
        every = joblines.read_all_call_args(cursor)
        (last,) = cursor.execute("SELECT max(rowid) FROM argument").fetchone()
        split = log_jobs._split_row(cursor)
        assert split is not None and 1 < split <= last  # (the record has jobs and arguments)
        # Every cut, also those between the three argument rows of flow.write(...).
        for cut in range(1, last + 2):
            low = joblines.read_all_call_args(cursor, 50, (log_jobs._BELOW_ALL, cut))
            high = joblines.read_all_call_args(cursor, 50, (cut, log_jobs._ABOVE_ALL))
            assert log_jobs.merge_call_args(cursor, low, high) == every
        # More jobs per argument: the child's share of the rows grows, up to all of them.
        monkeypatch.setattr(log_jobs, "JOB_COST", 3.0)
        assert log_jobs._split_row(cursor) is None
    finally:
        conn.close()
    assert listing(record)  # (reads every call in the child)


def test_jobs_started_together_list_the_later_written_first(
    record: LogRecord, tmp_path: Path
) -> None:
    source, copy = sqlite3.connect(record.db), sqlite3.connect(tmp_path / "redun.db")
    try:
        source.backup(copy)
        copy.execute("UPDATE job SET start_time = '2024-01-01 00:00:00' WHERE rowid % 2 = 0")
        listed = [line[0] for line in joblines.read_job_lines(copy.cursor())]
        ordered = "SELECT id FROM job ORDER BY start_time DESC, rowid DESC"
        assert listed == [job_id for (job_id,) in copy.execute(ordered)]
    finally:
        source.close()
        copy.close()


def test_forked_call_returns_the_childs_result() -> None:
    parent = os.getpid()
    with ForkedCall(lambda: (os.getpid(), [1, "two"])) as child:
        pid, value = child.result()
    assert pid != parent and value == [1, "two"]


def test_forked_call_gives_none_when_the_child_raises_or_is_not_run() -> None:
    def fails() -> int:
        raise ValueError("no")

    with ForkedCall(fails) as child:
        assert child.result() is None
    with ForkedCall(lambda: 1, run=False) as child:
        assert child.result() is None


def test_leaving_the_block_stops_a_child_whose_result_was_not_taken(tmp_path: Path) -> None:
    started = tmp_path / "started"

    def slow() -> int:
        started.write_text(str(os.getpid()))
        time.sleep(60)
        return 1

    with ForkedCall(slow):
        deadline = time.monotonic() + 10
        while not started.exists() or not started.read_text():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.01)
    with pytest.raises(ProcessLookupError):  # killed and reaped: no such process
        os.kill(int(started.read_text()), 0)
