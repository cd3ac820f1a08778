"""The job listing's rows and call arguments, in plain SQL (no SQLAlchemy to import).

`redun log --job` lists every job of a record; on 100,000s of jobs, importing
SQLAlchemy costs as much as reading them. The SQL (and the argument previews) the
SQLAlchemy queries share with this listing is defined here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from redun.backends.db.rawsql import ERROR_VALUE_TYPE, chunks
from redun.values import deserialize_value

JOB_STATUSES = ("RUNNING", "FAILED", "CACHED", "DONE")
# A job as one listing line shows it: (id, status, start time as stored, task name, call hash).
JobLine = tuple[str, str, Any, str, "str | None"]

# A job's status, as redun 0.44.1 shows it (usable in any query that selects from ``job``).
JOB_STATUS_SQL = (
    "CASE WHEN job.call_hash IN (SELECT call_node.call_hash FROM call_node "
    "JOIN value ON value.value_hash = call_node.value_hash "
    f"WHERE value.type = '{ERROR_VALUE_TYPE}') THEN 'FAILED' "
    "WHEN job.end_time IS NULL THEN 'RUNNING' "
    "WHEN job.cached THEN 'CACHED' ELSE 'DONE' END"
)
# Every job, in the table's order: a scan, sorted afterwards (quicker than walking the
# start_time index and fetching each row it points to).
_JOB_LINES_SQL = (
    f"SELECT job.id, {JOB_STATUS_SQL}, job.start_time, job.task_hash, job.call_hash FROM job"
)
_TASK_NAMES_SQL = "SELECT hash, name, namespace FROM task"
ALL_CALL_ARGS_SQL = (
    "SELECT argument.call_hash, argument.arg_position, argument.arg_key, argument.value_hash, "
    "value.type, value.value FROM argument "
    "LEFT OUTER JOIN value ON value.value_hash = argument.value_hash"
)


def read_job_lines(cursor: Any) -> list[JobLine]:
    """Every job, newest first (ties: the later written first), through a DBAPI cursor."""
    cursor.execute(_JOB_LINES_SQL)
    rows = cursor.fetchall()
    rows.reverse()  # (a stable sort then keeps ties newest first)
    rows.sort(key=itemgetter(2), reverse=True)
    cursor.execute(_TASK_NAMES_SQL)
    names = {task_hash: full_name(name, namespace) for task_hash, name, namespace in cursor}
    return named_job_lines(rows, names)


def named_job_lines(rows: Iterable[tuple], names: dict[str, str]) -> list[JobLine]:
    """Job lines from (id, status, start, task hash, call hash) rows: the task hash becomes
    the task's full name (its first 8 characters if the record lacks the task)."""
    return [
        (job_id, status, start, names.get(task_hash) or task_hash[:8], call_hash)
        for job_id, status, start, task_hash, call_hash in rows
    ]


# The arguments stored within a range of the argument table's rows (SQLite).
_CALL_ARGS_IN_ROWS_SQL = f"{ALL_CALL_ARGS_SQL} WHERE argument.rowid >= ? AND argument.rowid < ?"


def read_all_call_args(
    cursor: Any, max_len: int = 50, rows: tuple[int, int] | None = None
) -> dict[str, str]:
    """Formatted arguments of every call, by call hash, through a DBAPI cursor.

    ``rows`` (SQLite): only the argument rows whose rowids are within ``[low, high)``; a
    call with rows on both sides of a bound shows only its arguments within.
    """
    if rows is None:
        cursor.execute(ALL_CALL_ARGS_SQL)
    else:
        cursor.execute(_CALL_ARGS_IN_ROWS_SQL, rows)
    return call_args_from_rows(cursor.fetchall(), None, max_len)


def read_call_args(
    cursor: Any, call_hashes: list[str], mark: str, max_len: int = 50
) -> dict[str, str]:
    """Formatted arguments of the calls ``call_hashes`` (``mark``: the driver's placeholder)."""
    shown: dict[str, str] = {}
    for chunk in chunks(call_hashes):
        marks = ", ".join([mark] * len(chunk))
        cursor.execute(f"{ALL_CALL_ARGS_SQL} WHERE argument.call_hash IN ({marks})", chunk)
        shown.update(call_args_from_rows(cursor.fetchall(), None, max_len))
    return shown


def full_name(name: str, namespace: str | None) -> str:
    """A stored task's full name: ``namespace.name``, or ``name`` without a namespace."""
    return f"{namespace}.{name}" if namespace else name


def call_args_from_rows(
    rows: Iterable[tuple], wanted: set[str] | None, max_len: int
) -> dict[str, str]:
    """``1, 2, key=3`` by call hash, from (call_hash, position, key, value_hash, type, data)
    rows; calls not ``wanted`` (when given) are left out."""
    first: dict[str, tuple[int | None, str | None, str]] = {}  # a call's first argument
    several: dict[str, list[tuple[int | None, str | None, str]]] = {}  # calls of 2+ rows
    previews: dict[str, str] = {}
    for call_hash, position, key, value_hash, type_name, data in rows:
        if wanted is not None and call_hash not in wanted:
            continue
        preview = previews.get(value_hash)
        if preview is None:
            preview = previews[value_hash] = preview_value(type_name, data, max_len)
        if call_hash in first:  # (most calls have one argument: no list for them)
            several.setdefault(call_hash, [first[call_hash]]).append((position, key, preview))
        else:
            first[call_hash] = (position, key, preview)
    shown = {
        call_hash: preview if key is None else f"{key}={preview}"
        for call_hash, (_, key, preview) in first.items()
    }
    for call_hash, args in several.items():
        shown[call_hash] = _join_args(args)
    return shown


def arg_slot(position: int | None, key: str | None) -> tuple:
    """Sort key of an argument: positional ones in order, then keywords by name."""
    return (position is None, position or 0, key or "")


def _join_args(args: list[tuple[int | None, str | None, str]]) -> str:
    """``1, 2, key=3`` from a call's (position, key, preview) triples: one argument per slot
    (the last read), even if two writers hashed the same argument differently."""
    if len(args) == 1:  # most calls: nothing to order
        _, key, preview = args[0]
        return preview if key is None else f"{key}={preview}"
    slots = {arg_slot(position, key): (key, preview) for position, key, preview in args}
    shown = (slots[slot] for slot in sorted(slots))
    return ", ".join(preview if key is None else f"{key}={preview}" for key, preview in shown)


def preview_value(type_name: str | None, data: bytes | None, max_len: int = 200) -> str:
    """A short repr of a stored value (errors show the exception they carry)."""
    if type_name is None or data is None:
        return "<missing value>"
    try:
        value = deserialize_value(type_name, data)
    except Exception:
        return f"<{type_name}>"
    if type_name == ERROR_VALUE_TYPE and hasattr(value, "error"):
        value = value.error
    text = repr(value)
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


def as_datetime(value: Any) -> dt.datetime | None:
    """A stored time as a naive UTC datetime (SQLite rows read raw hold text)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    return dt.datetime.fromisoformat(value)
