"""Copying one record into another (push and pull): what the destination lacks, table by
table in foreign-key order, one transaction per batch.

The source is read inside one snapshot, so rows written there meanwhile never show up
without the rows they refer to. Every batch looks its keys up in the destination and
sends only the missing rows, so a copy that stopped half way resumes where it stopped
and a second copy sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from redun.backends.db.sync.counts import Counts
from redun.backends.db.sync.tables import SPEC_BY_NAME, SPECS, Row, TableSpec, sort_jobs
from redun.backends.db.sync.writes import KEYS_PER_QUERY, KeySQL, Merger, chunked, fetch

ROWS_PER_BATCH = 5000  # rows looked up (and at most sent) per destination transaction
EXECUTIONS_PER_BATCH = 50


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection reading ``engine``'s database as of one moment."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
        else:
            # pysqlite opens no transaction for reads: one explicit BEGIN holds a snapshot.
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()


def stream(conn: Connection, statement, size: int) -> Iterator[list[Row]]:
    """The statement's rows as dicts, ``size`` at a time (a server-side cursor on PostgreSQL)."""
    result = conn.execution_options(yield_per=size).execute(statement)
    names = tuple(result.keys())
    for part in result.partitions(size):
        yield [dict(zip(names, row)) for row in part]


def copy_records(source: Engine, dest: Engine, batch_size: int = ROWS_PER_BATCH) -> Counts:
    """Copy every row ``dest`` lacks from ``source``; returns the rows inserted and updated."""
    counts = Counts()
    with snapshot(source) as src, dest.connect() as dst:
        merger = Merger(dst)
        for spec in SPECS:
            if spec.name == "job":
                _copy_executions(src, merger, batch_size)
            elif spec.name != "execution":
                _copy_table(src, merger, spec, batch_size)
        counts.add(merger.inserted, merger.updated)
    return counts


def _copy_table(src: Connection, merger: Merger, spec: TableSpec, size: int) -> None:
    """Scan the source's keys; send the rows whose keys the destination lacks."""
    for key_rows in KeySQL(src, spec).scan(src, size):
        with merger.conn.begin():
            missing = merger.missing(spec, key_rows)
            for chunk in chunked(missing, KEYS_PER_QUERY):  # a few hundred blobs in memory
                merger.insert(spec, fetch(src, spec, chunk))


def _copy_executions(src: Connection, merger: Merger, size: int) -> None:
    """Executions with their jobs: a new execution's rows in one transaction (each refers
    to the other), jobs after their parents."""
    executions, jobs = SPEC_BY_NAME["execution"], SPEC_BY_NAME["job"]
    job_sql = KeySQL(src, jobs)
    for batch in KeySQL(src, executions).scan(src, EXECUTIONS_PER_BATCH):
        ids = tuple(row[0] for row in batch)
        marks = ", ".join([job_sql.mark] * len(ids))
        where = f"WHERE execution_id IN ({marks}) ORDER BY start_time"
        with merger.conn.begin():
            placed: set[str] = set()  # jobs of these executions the destination holds now
            waiting: list[Row] = []
            for key_rows in job_sql.scan(src, size, where, ids):
                missing = merger.missing(jobs, key_rows)
                placed.update(row[0] for row in key_rows)
                placed.difference_update(row[0] for row in missing)
                ready, waiting = sort_jobs(waiting + fetch(src, jobs, missing), placed.__contains__)
                merger.insert(jobs, ready)
                placed.update(row["id"] for row in ready)
            # Parents outside these executions: stored already, or the source lacks them.
            ready, rest = sort_jobs(waiting)
            merger.insert(jobs, ready + rest)
            missing = merger.missing(executions, batch)
            merger.insert(executions, fetch(src, executions, missing))
