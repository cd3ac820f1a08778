"""`redun log --job`'s lean listing agrees with the JobInfo views, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from log_record import build_record

from redun.backends.base import JobStart
from redun.backends.db import RedunBackend, joblines, listing, queries
from redun.cli import log_text

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    "stored",
    [
        "2024-03-10 06:59:59.999999",  # SQLite text, with microseconds
        "2024-03-10 07:00:00",  # SQLite text, whole seconds
        "2024-12-31T23:59:59.5",  # ISO text with a T
        dt.datetime(2024, 12, 31, 23, 59, 59, 999999),  # naive UTC
        dt.datetime(2024, 6, 1, 12, 0, 5, tzinfo=UTC),  # aware UTC (PostgreSQL)
        dt.datetime(2024, 1, 1, 2, 30, 7, 250, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        None,
    ],
)
def test_fmt_stored_time_is_fmt_time(stored: str | dt.datetime | None) -> None:
    parsed = dt.datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    assert log_text.fmt_stored_time(stored) == log_text.fmt_time(queries.as_datetime(parsed))
    if parsed is not None:  # shown in the local time zone, to the second
        utc = queries.as_datetime(parsed).replace(microsecond=0, tzinfo=UTC)
        assert log_text.fmt_stored_time(stored) == utc.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _add_running_job(db_uri: str) -> None:
    """A job that started and never ended (status RUNNING)."""
    backend = RedunBackend(db_uri)
    backend.load()
    try:
        with backend.connect() as conn:
            some = listing.list_jobs(conn, listing.RecordFilter(), limit=1)[0]
        start = dt.datetime.now(UTC).replace(tzinfo=None)
        job = JobStart(str(uuid.uuid4()), some.execution_id, None, some.task_hash, start)
        backend.record_job_start(job)
        backend.flush()
    finally:
        backend.close()


def _check_lines_match_job_infos(db_uri: str) -> None:
    backend = RedunBackend(db_uri)
    backend.load()
    filters = [
        (listing.RecordFilter(), None),
        (listing.RecordFilter(job_statuses=["FAILED", "RUNNING"]), None),
        (listing.RecordFilter(task_name="count"), 2),
    ]
    try:
        with backend.connect() as conn, backend.read_cursor() as cursor:
            # The plain `redun log --job` (plain SQL) agrees with the SQLAlchemy listing.
            every = listing.list_job_lines(conn, listing.RecordFilter())
            all_args = queries.call_args_text(conn, None)
            assert joblines.read_all_call_args(cursor) == all_args
            plain = joblines.read_job_lines(cursor)
            assert log_text.job_lines(plain, all_args) == log_text.job_lines(every, all_args)
            for record_filter, limit in filters:
                jobs = listing.list_jobs(conn, record_filter, limit)
                rows = listing.list_job_lines(conn, record_filter, limit)
                assert rows == [
                    (j.id, j.status, rows[i][2], j.task_name, j.call_hash)
                    for i, j in enumerate(jobs)
                ]
                args = queries.call_args_text(conn, [j.call_hash for j in jobs if j.call_hash])
                expected = [log_text.job_line(j, args.get(j.call_hash or "")) for j in jobs]
                assert log_text.job_lines(rows, args) == expected
            statuses = {j.status for j in listing.list_jobs(conn, listing.RecordFilter())}
    finally:
        backend.close()
    assert statuses == {"DONE", "CACHED", "FAILED", "RUNNING"}


def test_job_lines_match_job_infos_on_sqlite(tmp_path: Path) -> None:
    record = build_record(tmp_path)
    db_uri = f"sqlite:///{record.db}"
    _add_running_job(db_uri)
    _check_lines_match_job_infos(db_uri)


def test_job_lines_match_job_infos_on_postgres(pg_uri: str, tmp_path: Path) -> None:
    build_record(tmp_path, pg_uri)
    _add_running_job(pg_uri)
    _check_lines_match_job_infos(pg_uri)


def test_plain_job_listing_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    """`redun log --job` on SQLite reads in plain SQL: SQLAlchemy's import would double it."""
    import subprocess
    import sys

    record = build_record(tmp_path)
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('sqlalchemy' in sys.modules, file=sys.stderr))\n"
        "from redun.cli.main import main\n"
        f"main(['-c', {str(record.config)!r}, 'log', '--job'])\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=record.home, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    assert "count(" in found.stdout and found.stderr.strip().splitlines()[-1] == "False"
