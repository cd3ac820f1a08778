"""Rows from the writer's messages, one transaction at a time (standard library only).

The writer (batch.py) turns records into messages: plain tuples, quick to
pickle. Most are one row, ``(table, *columns)`` in the order of
``rawsql.COLUMNS[table]``. A job's row comes as a JOB message, ``("job", id,
start_time, end_time, task_hash, cached, call_hash, parent_id, execution_id,
may_wait)``, and the end of a job written earlier as a JOB_END, ``("job_end",
id, end_time, call_hash, cached)``.

:class:`RowWriter` sorts a batch of messages into rows per table, merges a job's
start and end into one insert, and runs the rows in foreign-key order. The
row of a job that may wait (it runs in an executor) is held back for a while,
so a job that ends soon costs one insert rather than an insert and an update.
It runs where the statements run: in a SQLite file's write process, which
imports this module without the rest of redun, or on the writer thread.
"""

from __future__ import annotations

import math
from typing import Any

from redun.backends.db.rawsql import RawStatements

JOB = "job"
JOB_END = "job_end"
JOB_UPDATE = "job_update"

# Tables in foreign-key order; job_update updates rows of jobs written earlier.
TABLE_ORDER = (
    "task", "value", "file", "subvalue", "handle", "handle_edge", "call_node", "call_edge",
    "call_subtree_task", "argument", "argument_result", "evaluation", JOB, "execution",
    JOB_UPDATE, "tag",
)  # fmt: skip

TableRows = list[tuple[str, list[tuple]]]


class WaitingJobs:
    """Rows of started jobs held back, oldest first, in the hope their end comes soon.

    A row leaves when its job ends, when a new row names it as parent (which needs
    it written), or once it has waited long enough.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple, float]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def hold(self, row: tuple, since: float) -> None:
        self._rows[row[1]] = (row, since)

    def take(self, job_id: str | None) -> tuple | None:
        """The row of ``job_id`` if it is waiting, no longer waiting."""
        entry = self._rows.pop(job_id, None) if job_id is not None else None
        return entry[0] if entry is not None else None

    def take_expired(self, before: float) -> list[tuple]:
        """Rows held since ``before`` or earlier, oldest first (all with ``before=inf``)."""
        expired = []
        for row, since in self._rows.values():
            if since > before:
                break
            expired.append(row)
        for row in expired:
            del self._rows[row[1]]
        return expired


class _Batch:
    """One transaction's rows per table, with the job rows merged and held back."""

    def __init__(self, waiting: WaitingJobs) -> None:
        self.waiting = waiting
        self.tables: dict[str, list[tuple]] = {table: [] for table in TABLE_ORDER}
        self.jobs: dict[str, tuple] = {}  # job inserts by id, in order
        self.may_wait: list[str] = []  # this batch's jobs whose rows may wait for their end
        self.parents: set[str] = set()  # job ids this batch's rows name as parent

    def add(self, messages: list[tuple]) -> None:
        tables = self.tables
        for message in messages:
            kind = message[0]
            if kind == JOB:
                self._start(message)
            elif kind == JOB_END:
                self._end(message)
            else:
                rows = tables.get(kind)
                if rows is None or kind == JOB_UPDATE:
                    raise ValueError(f"unknown record message {kind!r}")
                rows.append(message)

    def _start(self, row: tuple) -> None:
        parent_id = row[7]
        if parent_id is not None:
            self.parents.add(parent_id)
            parent = self.waiting.take(parent_id)  # a child's row needs its parent's row
            if parent is not None:
                self.jobs[parent_id] = parent
        if row[9] and row[3] is None:
            self.may_wait.append(row[1])
        self.jobs[row[1]] = row

    def _end(self, end: tuple) -> None:
        job_id = end[1]
        row = self.jobs.get(job_id) or self.waiting.take(job_id)
        if row is None:
            self.tables[JOB_UPDATE].append((JOB_UPDATE, end[2], end[3], end[4], job_id))
        else:  # started and ended within this batch: one insert
            self.jobs[job_id] = (JOB, job_id, row[2], end[2], row[4], end[4], end[3], *row[7:])

    def hold_back(self, now: float) -> None:
        """Move this batch's rows of jobs still running (and nobody's parent) to the waiting."""
        for job_id in self.may_wait:
            row = self.jobs.get(job_id)
            if row is not None and row[3] is None and job_id not in self.parents:
                self.waiting.hold(self.jobs.pop(job_id), now)

    def add_expired(self, before: float) -> None:
        for row in self.waiting.take_expired(before):
            self.jobs[row[1]] = row

    def table_rows(self) -> TableRows:
        self.tables[JOB] = list(self.jobs.values())
        return [(table, rows) for table, rows in self.tables.items() if rows]


class RowWriter:
    """Writes batches of messages, holding job rows back between them (one per writer).

    ``one_row`` writes with executemany of one-row statements (see RawStatements.execute).
    """

    def __init__(self, dialect: str, one_row: bool = False) -> None:
        self.raw = RawStatements(dialect)
        self.one_row = one_row
        self.waiting = WaitingJobs()

    def rows(self, messages: list[tuple], flush: bool, now: float, wait: float) -> TableRows:
        """The rows to write for one batch, in foreign-key order (non-empty tables only).

        Rows of running jobs are held back from ``now`` on, and rows held since ``now -
        wait`` or earlier come along; with ``flush``, every held row does. ``now`` is
        the sender's ``time.monotonic()``, a clock every process on the machine shares.
        """
        batch = _Batch(self.waiting)
        batch.add(messages)
        if flush:
            batch.add_expired(math.inf)
        else:
            batch.hold_back(now)
            batch.add_expired(now - wait)
        return batch.table_rows()

    def execute(self, cursor: Any, table_rows: TableRows) -> dict[str, int]:
        """Run the rows on ``cursor`` (inside the caller's transaction); rows per table."""
        for table, rows in table_rows:
            self.raw.execute(cursor, table, rows, self.one_row)
        return {table: len(rows) for table, rows in table_rows}
