"""Filtered listings of the record for `redun log --exec/--job/--call-node/--task/--value/--file`.

Each listing is a fixed number of queries whatever the number of rows; filters become
SQL (subqueries), so ``limit`` counts only matching records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, and_, false, func, not_, or_, select

from redun.backends.db import queries
from redun.backends.db.joblines import JOB_STATUSES as JOB_STATUSES
from redun.backends.db.joblines import JobLine, named_job_lines
from redun.backends.db.queries import (
    JOB_COLUMNS,
    ExecutionInfo,
    JobInfo,
    argument_t,
    call_node_t,
    execution_t,
    fetch_rows,
    file_t,
    job_t,
    subvalue_t,
    tag_t,
    task_t,
    value_t,
)
from redun.config import parse_text_value

LIST_KINDS = ("execution", "job", "call_node", "task", "value", "file")
EXEC_STATUSES = ("RUNNING", "FAILED", "DONE")
ANY_VALUE = object()  # a tag filter given as a bare key: any value matches


@dataclass
class RecordFilter:
    """What to keep in a listing; empty fields do not filter."""

    exec_ids: list[str] = field(default_factory=list)  # full execution ids
    exec_statuses: list[str] = field(default_factory=list)
    exec_tags: list[tuple[str, Any]] = field(default_factory=list)
    tags: list[tuple[str, Any]] = field(default_factory=list)  # on the listed records
    job_statuses: list[str] = field(default_factory=list)
    task_name: str | None = None
    task_hash: str | None = None
    value_type: str | None = None
    file_paths: list[str] = field(default_factory=list)
    arg_hashes: list[str] = field(default_factory=list)
    result_hashes: list[str] = field(default_factory=list)


@dataclass
class ValueRow:
    value_hash: str
    type: str
    format: str
    preview: str


@dataclass
class CallNodeRow:
    call_hash: str
    task_name: str
    task_hash: str
    args_hash: str
    value_hash: str
    timestamp: Any


def parse_tag(text: str) -> tuple[str, Any]:
    """``key=value`` (value as JSON when it parses, else text) or ``key`` (any value)."""
    key, sep, value = text.partition("=")
    if not key:
        raise ValueError(f"tag filter {text!r} has no key; write it as key=value")
    if not sep:
        return key, ANY_VALUE
    return key, value


def _tag_clause(conn: Connection, entity_id: Any, key: str, value: Any) -> Any:
    """``entity_id`` has the current tag ``key`` (with ``value``, as text or as JSON)."""
    conditions = [tag_t.c.key == key, tag_t.c.is_current.is_(True)]
    if value is not ANY_VALUE:
        candidates = [value]
        parsed = parse_text_value(value)
        if parsed != value:
            candidates.append(parsed)
        conditions.append(or_(*(queries.tag_value_equals(conn, v) for v in candidates)))
    return entity_id.in_(select(tag_t.c.entity_id).where(*conditions))


def _tags_clauses(conn: Connection, entity_id: Any, tags: list[tuple[str, Any]]) -> list:
    return [_tag_clause(conn, entity_id, key, value) for key, value in tags]


def _task_name_clause(name: str) -> Any:
    """The task's full name is ``name``, or its bare name is (``count`` finds ``flow.count``)."""
    namespace, _, short = name.rpartition(".")
    clause = task_t.c.name == name
    if namespace:
        clause = or_(clause, and_(task_t.c.namespace == namespace, task_t.c.name == short))
    return clause


def _task_hashes(f: RecordFilter) -> Select | None:
    """Hashes of the tasks the filter names, or None when it names none."""
    conditions = []
    if f.task_name:
        conditions.append(_task_name_clause(f.task_name))
    if f.task_hash:
        conditions.append(task_t.c.hash.startswith(f.task_hash))
    return select(task_t.c.hash).where(*conditions) if conditions else None


def _execution_ids(conn: Connection, f: RecordFilter) -> Select | None:
    """Ids of the executions the filter keeps (by id and execution tags), or None."""
    if not (f.exec_ids or f.exec_tags):
        return None
    stmt = select(execution_t.c.id)
    if f.exec_ids:
        stmt = stmt.where(execution_t.c.id.in_(f.exec_ids))
    return stmt.where(*_tags_clauses(conn, execution_t.c.id, f.exec_tags))


# Executions ---------------------------------------------------------------------------------
def list_executions(
    conn: Connection, f: RecordFilter, limit: int | None = None
) -> list[ExecutionInfo]:
    """Executions the filter keeps, newest first."""
    stmt = queries.execution_query()
    exec_ids = _execution_ids(conn, f)
    if exec_ids is not None:
        stmt = stmt.where(execution_t.c.id.in_(exec_ids))
    stmt = stmt.where(*_tags_clauses(conn, execution_t.c.id, f.tags))
    if not f.exec_statuses:
        return queries.read_executions(conn, stmt.limit(limit))
    # Status comes from the root job's row and its result's type: filter after reading
    # (executions are few next to jobs).
    kept = [e for e in queries.read_executions(conn, stmt) if e.status in f.exec_statuses]
    return kept[:limit] if limit is not None else kept


# Jobs ---------------------------------------------------------------------------------------
def _job_status_clause(statuses: list[str]) -> Any:
    failed = job_t.c.call_hash.in_(queries.error_calls())
    ok = or_(job_t.c.call_hash.is_(None), not_(failed))
    finished = job_t.c.end_time.is_not(None)
    by_status = {
        "FAILED": failed,
        "RUNNING": and_(job_t.c.end_time.is_(None), ok),
        "CACHED": and_(finished, job_t.c.cached.is_(True), ok),
        "DONE": and_(finished, job_t.c.cached.is_(False), ok),
    }
    return or_(*(by_status[s] for s in statuses)) if statuses else None


def job_query(conn: Connection, f: RecordFilter) -> Select:
    """A select of :data:`~redun.backends.db.queries.JOB_COLUMNS`: the jobs the filter keeps."""
    stmt = select(*JOB_COLUMNS)
    exec_ids = _execution_ids(conn, f)
    if exec_ids is not None:
        stmt = stmt.where(job_t.c.execution_id.in_(exec_ids))
    if f.exec_statuses:
        kept = [e.id for e in list_executions(conn, RecordFilter(exec_statuses=f.exec_statuses))]
        stmt = stmt.where(job_t.c.execution_id.in_(kept) if kept else false())
    tasks = _task_hashes(f)
    if tasks is not None:
        stmt = stmt.where(job_t.c.task_hash.in_(tasks))
    status = _job_status_clause(f.job_statuses)
    if status is not None:
        stmt = stmt.where(status)
    calls = _call_hashes_by_values(f)
    if calls is not None:
        stmt = stmt.where(job_t.c.call_hash.in_(calls))
    return stmt.where(*_tags_clauses(conn, job_t.c.id, f.tags))


def list_jobs(conn: Connection, f: RecordFilter, limit: int | None = None) -> list[JobInfo]:
    """Jobs the filter keeps, newest first."""
    stmt = job_query(conn, f).order_by(job_t.c.start_time.desc()).limit(limit)
    return queries.read_jobs(conn, stmt)


def list_job_lines(conn: Connection, f: RecordFilter, limit: int | None = None) -> list[JobLine]:
    """The one-line listing's fields of the jobs the filter keeps, newest first.

    Lighter than :func:`list_jobs` for 100,000s of jobs: the status is computed in SQL
    and start times stay as stored (text on SQLite, see :func:`queries.fetch_rows`).
    """
    columns = (job_t.c.id, queries.job_status_column(), job_t.c.start_time, job_t.c.task_hash)
    stmt = job_query(conn, f).with_only_columns(*columns, job_t.c.call_hash)
    rows = fetch_rows(conn, stmt.order_by(job_t.c.start_time.desc()).limit(limit))
    return named_job_lines(rows, queries.task_names(conn) if rows else {})


def _call_hashes_by_values(f: RecordFilter) -> Select | None:
    """Calls with one of the given results and taking one of the given arguments, or None."""
    if not (f.arg_hashes or f.result_hashes):
        return None
    stmt = select(call_node_t.c.call_hash)
    if f.result_hashes:
        stmt = stmt.where(call_node_t.c.value_hash.in_(f.result_hashes))
    if f.arg_hashes:
        args = select(argument_t.c.call_hash).where(argument_t.c.value_hash.in_(f.arg_hashes))
        stmt = stmt.where(call_node_t.c.call_hash.in_(args))
    return stmt


# Call nodes, tasks, values, files ----------------------------------------------------------
def _scoped_calls(conn: Connection, f: RecordFilter) -> Select | None:
    """Call hashes of the jobs of the executions (and statuses) the filter names, or None."""
    if not (f.exec_ids or f.exec_tags or f.exec_statuses or f.job_statuses):
        return None
    scope = RecordFilter(
        exec_ids=f.exec_ids,
        exec_tags=f.exec_tags,
        exec_statuses=f.exec_statuses,
        job_statuses=f.job_statuses,
    )
    return job_query(conn, scope).with_only_columns(job_t.c.call_hash)


def call_node_query(conn: Connection, f: RecordFilter) -> Select:
    """The call nodes the filter keeps."""
    stmt = select(
        call_node_t.c.call_hash,
        call_node_t.c.task_name,
        call_node_t.c.task_hash,
        call_node_t.c.args_hash,
        call_node_t.c.value_hash,
        call_node_t.c.timestamp,
    )
    tasks = _task_hashes(f)
    if tasks is not None:
        stmt = stmt.where(call_node_t.c.task_hash.in_(tasks))
    for calls in (_scoped_calls(conn, f), _call_hashes_by_values(f)):
        if calls is not None:
            stmt = stmt.where(call_node_t.c.call_hash.in_(calls))
    if f.value_type:
        results = select(value_t.c.value_hash).where(value_t.c.type == f.value_type)
        stmt = stmt.where(call_node_t.c.value_hash.in_(results))
    return stmt.where(*_tags_clauses(conn, call_node_t.c.call_hash, f.tags))


def list_call_nodes(
    conn: Connection, f: RecordFilter, limit: int | None = None
) -> list[CallNodeRow]:
    """Call nodes the filter keeps, newest first."""
    stmt = call_node_query(conn, f).order_by(call_node_t.c.timestamp.desc()).limit(limit)
    return [CallNodeRow(*row[:5], queries.as_datetime(row[5])) for row in fetch_rows(conn, stmt)]


def task_query(conn: Connection, f: RecordFilter) -> Select:
    """The tasks the filter keeps."""
    stmt = select(task_t.c.hash, task_t.c.name, task_t.c.namespace, task_t.c.source)
    tasks = _task_hashes(f)
    if tasks is not None:
        stmt = stmt.where(task_t.c.hash.in_(tasks))
    calls = _scoped_calls(conn, f)
    if calls is not None:
        used = select(call_node_t.c.task_hash).where(call_node_t.c.call_hash.in_(calls))
        stmt = stmt.where(task_t.c.hash.in_(used))
    return stmt.where(*_tags_clauses(conn, task_t.c.hash, f.tags))


def list_tasks(conn: Connection, f: RecordFilter, limit: int | None = None) -> list[tuple]:
    """(hash, name, namespace, source) of the tasks the filter keeps, by full name."""
    stmt = task_query(conn, f).order_by(task_t.c.namespace, task_t.c.name, task_t.c.hash)
    return fetch_rows(conn, stmt.limit(limit))


def _scoped_values(conn: Connection, f: RecordFilter) -> Select | None:
    """Results of the scoped calls and everything nested in them, or None."""
    calls = _scoped_calls(conn, f)
    if calls is None:
        return None
    results = select(call_node_t.c.value_hash).where(call_node_t.c.call_hash.in_(calls))
    nested = select(subvalue_t.c.value_hash).where(subvalue_t.c.parent_value_hash.in_(results))
    return results.union(nested)


def value_query(conn: Connection, f: RecordFilter) -> Select:
    """The values the filter keeps."""
    stmt = select(value_t.c.value_hash, value_t.c.type, value_t.c.format, value_t.c.value)
    if f.value_type:
        stmt = stmt.where(value_t.c.type == f.value_type)
    scoped = _scoped_values(conn, f)
    if scoped is not None:
        stmt = stmt.where(value_t.c.value_hash.in_(scoped))
    if f.file_paths:
        files = select(file_t.c.value_hash).where(file_t.c.path.in_(f.file_paths))
        stmt = stmt.where(value_t.c.value_hash.in_(files))
    return stmt.where(*_tags_clauses(conn, value_t.c.value_hash, f.tags))


def list_values(conn: Connection, f: RecordFilter, limit: int | None = None) -> list[ValueRow]:
    """Values the filter keeps (in storage order), with a preview of each."""
    return [
        ValueRow(value_hash, type_name, fmt, queries.preview_value(type_name, data, 100))
        for value_hash, type_name, fmt, data in fetch_rows(conn, value_query(conn, f).limit(limit))
    ]


def file_query(conn: Connection, f: RecordFilter) -> Select:
    """(value_hash, path) of the File values the filter keeps."""
    stmt = select(file_t.c.value_hash, file_t.c.path)
    if f.file_paths:
        stmt = stmt.where(file_t.c.path.in_(f.file_paths))
    scoped = _scoped_values(conn, f)
    if scoped is not None:
        stmt = stmt.where(file_t.c.value_hash.in_(scoped))
    return stmt.where(*_tags_clauses(conn, file_t.c.value_hash, f.tags))


def list_files(conn: Connection, f: RecordFilter, limit: int | None = None) -> list[tuple]:
    """(value_hash, path) of the files the filter keeps, by path."""
    stmt = file_query(conn, f).order_by(file_t.c.path, file_t.c.value_hash).limit(limit)
    return fetch_rows(conn, stmt)


# Counts -----------------------------------------------------------------------------------
def count_records(conn: Connection, kind: str, f: RecordFilter) -> int:
    """How many records of ``kind`` the filter keeps."""
    if kind == "execution":
        if f.exec_statuses:
            return len(list_executions(conn, f))
        stmt = queries.execution_query().with_only_columns(execution_t.c.id).order_by(None)
        exec_ids = _execution_ids(conn, f)
        if exec_ids is not None:
            stmt = stmt.where(execution_t.c.id.in_(exec_ids))
        stmt = stmt.where(*_tags_clauses(conn, execution_t.c.id, f.tags))
    else:
        builders = {
            "job": job_query,
            "call_node": call_node_query,
            "task": task_query,
            "value": value_query,
            "file": file_query,
        }
        stmt = builders[kind](conn, f)
    counted = select(func.count()).select_from(stmt.subquery())
    return int(fetch_rows(conn, counted)[0][0])
