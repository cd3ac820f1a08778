"""Read-side queries over the record: executions, job trees, call nodes, ids by prefix.

Functions take an open SQLAlchemy ``Connection`` (``RedunBackend.connect()``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from redun.backends.db.models import ERROR_VALUE_TYPE, TABLES
from redun.values import deserialize_value

IN_CHUNK = 500
RECORD_KINDS = ("execution", "job", "call_node", "task", "value")
_PREFIX_PATTERN = re.compile(r"[0-9A-Za-z-]+")

execution_t, job_t, task_t = TABLES["execution"], TABLES["job"], TABLES["task"]
call_node_t, value_t, tag_t = TABLES["call_node"], TABLES["value"], TABLES["tag"]
argument_t, call_edge_t = TABLES["argument"], TABLES["call_edge"]


@dataclass
class JobInfo:
    """One job with its computed status (FAILED, RUNNING, CACHED or DONE)."""

    id: str
    execution_id: str
    parent_id: str | None
    task_hash: str
    task_name: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    cached: bool
    call_hash: str | None
    status: str
    children: list[JobInfo] = field(default_factory=list)


@dataclass
class ExecutionInfo:
    """One execution, summarized by its root job."""

    id: str
    args: list[str]
    updated_time: dt.datetime | None
    root: JobInfo | None
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """FAILED, RUNNING or DONE (a fully cached execution is DONE)."""
        if self.root is None:
            return "RUNNING"
        return "DONE" if self.root.status == "CACHED" else self.root.status

    @property
    def start_time(self) -> dt.datetime | None:
        return self.root.start_time if self.root else self.updated_time


@dataclass
class ArgInfo:
    position: int | None
    key: str | None
    value_hash: str
    preview: str


@dataclass
class CallNodeInfo:
    call_hash: str
    task_name: str
    task_hash: str
    args_hash: str
    value_hash: str
    value_type: str
    preview: str
    timestamp: dt.datetime
    args: list[ArgInfo]
    children: list[tuple[str, str]]  # (call_hash, task_name), in call order

    @property
    def is_error(self) -> bool:
        return self.value_type == ERROR_VALUE_TYPE


def job_status(value_type: str | None, end_time: dt.datetime | None, cached: bool) -> str:
    """A job's status as redun computes it from its row and its call node's value type."""
    if value_type == ERROR_VALUE_TYPE:
        return "FAILED"
    if end_time is None:
        return "RUNNING"
    return "CACHED" if cached else "DONE"


def _job_query() -> Select:
    return (
        select(job_t, task_t.c.name, task_t.c.namespace, value_t.c.type)
        .outerjoin(task_t, task_t.c.hash == job_t.c.task_hash)
        .outerjoin(call_node_t, call_node_t.c.call_hash == job_t.c.call_hash)
        .outerjoin(value_t, value_t.c.value_hash == call_node_t.c.value_hash)
    )


def _job_from_row(row: Any) -> JobInfo:
    m = row._mapping
    name = m["name"] or m["task_hash"][:8]
    fullname = f"{m['namespace']}.{name}" if m["namespace"] else name
    return JobInfo(
        id=m["id"],
        execution_id=m["execution_id"],
        parent_id=m["parent_id"],
        task_hash=m["task_hash"],
        task_name=fullname,
        start_time=m["start_time"],
        end_time=m["end_time"],
        cached=bool(m["cached"]),
        call_hash=m["call_hash"],
        status=job_status(m["type"], m["end_time"], bool(m["cached"])),
    )


def list_executions(conn: Connection, limit: int | None = None) -> list[ExecutionInfo]:
    """Executions, newest first (by their root job's start time)."""
    # Join each execution straight to its root job: a subquery over every job would make
    # SQLite scan the whole job table.
    query = (
        select(
            execution_t.c.id.label("exec_id"),
            execution_t.c.args.label("exec_args"),
            execution_t.c.updated_time.label("exec_updated_time"),
            job_t,
            task_t.c.name,
            task_t.c.namespace,
            value_t.c.type,
        )
        .outerjoin(job_t, job_t.c.id == execution_t.c.job_id)
        .outerjoin(task_t, task_t.c.hash == job_t.c.task_hash)
        .outerjoin(call_node_t, call_node_t.c.call_hash == job_t.c.call_hash)
        .outerjoin(value_t, value_t.c.value_hash == call_node_t.c.value_hash)
        .order_by(func.coalesce(job_t.c.start_time, execution_t.c.updated_time).desc())
        .limit(limit)
    )
    executions = [
        ExecutionInfo(
            id=row.exec_id,
            args=_parse_args(row.exec_args),
            updated_time=row.exec_updated_time,
            root=_job_from_row(row) if row.id is not None else None,
        )
        for row in conn.execute(query)
    ]
    tags = get_tags(conn, [e.id for e in executions])
    for execution in executions:
        execution.tags = tags.get(execution.id, {})
    return executions


def get_execution(conn: Connection, execution_id: str) -> ExecutionInfo | None:
    """One execution by full id."""
    row = conn.execute(select(execution_t).where(execution_t.c.id == execution_id)).first()
    if row is None:
        return None
    job_row = conn.execute(_job_query().where(job_t.c.id == row.job_id)).first()
    return ExecutionInfo(
        id=row.id,
        args=_parse_args(row.args),
        updated_time=row.updated_time,
        root=_job_from_row(job_row) if job_row is not None else None,
        tags=get_tags(conn, [row.id]).get(row.id, {}),
    )


def _parse_args(args: str) -> list[str]:
    try:
        parsed = json.loads(args)
    except ValueError:
        return [args]
    return [str(arg) for arg in parsed] if isinstance(parsed, list) else [str(parsed)]


def get_tags(conn: Connection, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current tags of each entity, keyed by entity id then tag key."""
    tags: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(entity_ids):
        query = select(tag_t.c.entity_id, tag_t.c.key, tag_t.c.value).where(
            tag_t.c.entity_id.in_(chunk), tag_t.c.is_current.is_(True)
        )
        for entity_id, key, value in conn.execute(query):
            tags.setdefault(entity_id, {})[key] = value
    return tags


def list_jobs(conn: Connection, limit: int | None = None) -> list[JobInfo]:
    """Jobs of every execution, newest first."""
    query = _job_query().order_by(job_t.c.start_time.desc()).limit(limit)
    return [_job_from_row(row) for row in conn.execute(query)]


_ALL_JOBS_SQL = (
    "SELECT id, start_time, end_time, cached, call_hash, task_hash FROM job "
    "ORDER BY start_time DESC"
)
_ERROR_CALLS_SQL = (
    "SELECT call_node.call_hash FROM call_node JOIN value "
    "ON value.value_hash = call_node.value_hash WHERE value.type = 'redun.ErrorValue'"
)
_ALL_ARGS_SQL = (
    "SELECT argument.call_hash, argument.arg_position, argument.arg_key, argument.value_hash, "
    "value.type, value.value FROM argument "
    "LEFT JOIN value ON value.value_hash = argument.value_hash"
)


def _raw_rows(conn: Connection, sql: str) -> list[tuple]:
    """All rows of ``sql`` straight from the driver (listing 100,000 rows stays fast)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def list_all_jobs(conn: Connection) -> list[tuple[str, Any, Any, bool, str | None, str, str]]:
    """Every job, newest first, as plain rows for listing:
    (id, start_time, end_time, cached, call_hash, task full name, status)."""
    names = {
        row.hash: f"{row.namespace}.{row.name}" if row.namespace else row.name
        for row in conn.execute(select(task_t.c.hash, task_t.c.name, task_t.c.namespace))
    }
    failed = {row[0] for row in _raw_rows(conn, _ERROR_CALLS_SQL)}
    jobs = []
    for job_id, start, end, cached, call_hash, task_hash in _raw_rows(conn, _ALL_JOBS_SQL):
        if call_hash in failed:
            status = "FAILED"
        elif end is None:
            status = "RUNNING"
        else:
            status = "CACHED" if cached else "DONE"
        name = names.get(task_hash) or task_hash[:8]
        jobs.append((job_id, start, end, bool(cached), call_hash, name, status))
    return jobs


def all_call_args(conn: Connection, max_len: int = 50) -> dict[str, str]:
    """Formatted arguments (``1, 2, key=3``) of every call node, by call hash."""
    previews: dict[str, str] = {}
    slots: dict[str, dict[tuple, str]] = {}
    for call_hash, position, key, value_hash, type_name, data in _raw_rows(conn, _ALL_ARGS_SQL):
        preview = previews.get(value_hash)
        if preview is None:
            preview = previews[value_hash] = preview_value(type_name, data, max_len)
        # One argument per slot, even if two writers hashed the same argument differently.
        slots.setdefault(call_hash, {})[(position is None, position or 0, key or "")] = (
            preview if key is None else f"{key}={preview}"
        )
    return {
        call_hash: ", ".join(args[slot] for slot in sorted(args))
        if len(args) > 1
        else next(iter(args.values()))
        for call_hash, args in slots.items()
    }


def get_job_tree(conn: Connection, execution_id: str) -> list[tuple[int, JobInfo]]:
    """Every job of an execution as (depth, job), parents first, siblings by start time."""
    jobs = [
        _job_from_row(row)
        for row in conn.execute(
            _job_query().where(job_t.c.execution_id == execution_id).order_by(job_t.c.start_time)
        )
    ]
    by_id = {job.id: job for job in jobs}
    roots = []
    for job in jobs:
        parent = by_id.get(job.parent_id) if job.parent_id else None
        (parent.children if parent is not None else roots).append(job)
    tree: list[tuple[int, JobInfo]] = []
    stack = [(0, job) for job in reversed(roots)]
    while stack:  # iterative: deep job trees must not hit the recursion limit
        depth, job = stack.pop()
        tree.append((depth, job))
        stack.extend((depth + 1, child) for child in reversed(job.children))
    return tree


def get_job(conn: Connection, job_id: str) -> JobInfo | None:
    """One job by full id."""
    row = conn.execute(_job_query().where(job_t.c.id == job_id)).first()
    return _job_from_row(row) if row is not None else None


def get_job_ancestors(conn: Connection, job: JobInfo) -> list[JobInfo]:
    """The job's ancestors, root first, ending with the job itself."""
    chain = [job]
    seen = {job.id}
    while chain[0].parent_id and chain[0].parent_id not in seen:
        parent = get_job(conn, chain[0].parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        chain.insert(0, parent)
    return chain


def get_call_node(conn: Connection, call_hash: str) -> CallNodeInfo | None:
    """A call node with its arguments, result preview and child calls."""
    query = select(call_node_t, value_t.c.type, value_t.c.value).outerjoin(
        value_t, value_t.c.value_hash == call_node_t.c.value_hash
    )
    row = conn.execute(query.where(call_node_t.c.call_hash == call_hash)).first()
    if row is None:
        return None
    children_query = (
        select(call_edge_t.c.child_id, call_node_t.c.task_name)
        .join(call_node_t, call_node_t.c.call_hash == call_edge_t.c.child_id)
        .where(call_edge_t.c.parent_id == call_hash)
        .order_by(call_edge_t.c.call_order)
    )
    return CallNodeInfo(
        call_hash=row.call_hash,
        task_name=row.task_name,
        task_hash=row.task_hash,
        args_hash=row.args_hash,
        value_hash=row.value_hash,
        value_type=row.type or "",
        preview=preview_value(row.type, row.value),
        timestamp=row.timestamp,
        args=get_call_args(conn, [call_hash]).get(call_hash, []),
        children=[(child, name) for child, name in conn.execute(children_query)],
    )


def get_call_args(
    conn: Connection, call_hashes: Iterable[str], max_len: int = 50
) -> dict[str, list[ArgInfo]]:
    """Arguments of each call: positional ones by position, then keyword ones by key."""
    args: dict[str, list[ArgInfo]] = {}
    for chunk in _chunks(list(dict.fromkeys(call_hashes))):
        query = (
            select(argument_t, value_t.c.type, value_t.c.value)
            .outerjoin(value_t, value_t.c.value_hash == argument_t.c.value_hash)
            .where(argument_t.c.call_hash.in_(chunk))
        )
        for row in conn.execute(query):
            preview = preview_value(row.type, row.value, max_len)
            info = ArgInfo(row.arg_position, row.arg_key, row.value_hash, preview)
            args.setdefault(row.call_hash, []).append(info)
    for call_hash, infos in args.items():
        # One argument per slot, even if two writers hashed the same argument differently.
        unique = {(a.position, a.key): a for a in infos}
        args[call_hash] = sorted(
            unique.values(), key=lambda a: (a.position is None, a.position or 0, a.key or "")
        )
    return args


def format_args(args: list[ArgInfo]) -> str:
    """``1, 2, key=3`` for a call's arguments."""
    return ", ".join(a.preview if a.key is None else f"{a.key}={a.preview}" for a in args)


def get_task(conn: Connection, task_hash: str) -> Any:
    """The task row (hash, name, namespace, source) or None."""
    return conn.execute(select(task_t).where(task_t.c.hash == task_hash)).first()


def get_value(conn: Connection, value_hash: str) -> tuple[str, str] | None:
    """(type, preview) of a stored value, or None."""
    row = conn.execute(
        select(value_t.c.type, value_t.c.value).where(value_t.c.value_hash == value_hash)
    ).first()
    return (row.type, preview_value(row.type, row.value, 1000)) if row is not None else None


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


def find_records(conn: Connection, prefix: str, limit: int = 2) -> tuple[str, list[str]]:
    """Ids matching ``prefix`` in the first kind of record that has any.

    Kinds are tried in the order execution, job, call_node, task, value.
    Returns (kind, ids), at most ``limit`` ids; ("", []) when nothing matches.
    """
    if not _PREFIX_PATTERN.fullmatch(prefix):
        return "", []
    columns = {
        "execution": execution_t.c.id,
        "job": job_t.c.id,
        "call_node": call_node_t.c.call_hash,
        "task": task_t.c.hash,
        "value": value_t.c.value_hash,
    }
    for kind in RECORD_KINDS:
        column = columns[kind]
        query = select(column).where(_prefix_clause(conn, column, prefix))
        ids = list(conn.scalars(query.order_by(column).limit(limit)))
        if ids:
            return kind, ids
    return "", []


def _prefix_clause(conn: Connection, column: Any, prefix: str) -> Any:
    # SQLite uses its primary-key index for a range, not for LIKE; PostgreSQL's
    # varchar_pattern_ops indexes serve LIKE. Ids hold only [0-9A-Za-z-], all below "~".
    if conn.dialect.name == "sqlite":
        return and_(column >= prefix, column < prefix + "~")
    return column.like(f"{prefix}%")


def latest_execution_id(conn: Connection) -> str | None:
    """The id of the most recently started execution."""
    executions = list_executions(conn, limit=1)
    return executions[0].id if executions else None


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
