"""Read-side queries over the record: executions, jobs, call nodes, tasks and values.

Functions take an open SQLAlchemy ``Connection`` (``RedunBackend.connect()``). Listings
that may return 100,000 rows read them through :func:`fetch_rows` (plain tuples) and
never query once per row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    func,
    literal,
    literal_column,
    select,
)

# Records by id prefix live in ids.py; these names stay importable from here.
from redun.backends.db.ids import KIND_LABELS as KIND_LABELS
from redun.backends.db.ids import RECORD_KINDS as RECORD_KINDS
from redun.backends.db.ids import chunks
from redun.backends.db.ids import find_records as find_records
from redun.backends.db.ids import match_ids as match_ids
from redun.backends.db.joblines import JOB_STATUS_SQL, arg_slot, call_args_from_rows, full_name
from redun.backends.db.joblines import as_datetime as as_datetime
from redun.backends.db.joblines import preview_value as preview_value
from redun.backends.db.models import ERROR_VALUE_TYPE, TABLES
from redun.backends.db.rawsql import json_text
from redun.values import deserialize_value

SMALL_SET = 2000  # calls whose arguments are read with IN lists

execution_t, job_t, task_t = TABLES["execution"], TABLES["job"], TABLES["task"]
call_node_t, value_t, tag_t = TABLES["call_node"], TABLES["value"], TABLES["tag"]
argument_t, call_edge_t = TABLES["argument"], TABLES["call_edge"]
file_t, subvalue_t = TABLES["file"], TABLES["subvalue"]
argument_result_t = TABLES["argument_result"]


@dataclass(slots=True)
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

    @property
    def end_time(self) -> dt.datetime | None:
        return (self.root.end_time if self.root else None) or self.updated_time


@dataclass
class ArgInfo:
    """One argument of a call: positional (``position``) or keyword (``key``)."""

    position: int | None
    key: str | None
    value_hash: str
    preview: str
    arg_hash: str = ""


@dataclass
class CallNodeInfo:
    """A call node with its arguments, result and neighbours in the call graph."""

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
    parents: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return self.value_type == ERROR_VALUE_TYPE


# Plain rows ------------------------------------------------------------------------------
def fetch_rows(conn: Connection, stmt: Select) -> list[tuple]:
    """All rows of ``stmt`` as plain tuples.

    On SQLite the compiled statement goes straight to the driver (twice as fast for
    100,000 rows; times come back as text then). Bound values must be plain strings and
    numbers there: use :func:`tag_value_equals` for tag values.
    """
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in conn.execute(stmt)]
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def tag_value_equals(conn: Connection, value: Any) -> Any:
    """A clause: the tag's value equals ``value`` (usable with :func:`fetch_rows`)."""
    if conn.dialect.name == "sqlite":
        return tag_t.c.value == literal(json_text(value), String())
    return tag_t.c.value == value


def job_status(value_type: str | None, end_time: Any, cached: bool) -> str:
    """A job's status as redun computes it from its row and its call node's value type."""
    if value_type == ERROR_VALUE_TYPE:
        return "FAILED"
    if end_time is None:
        return "RUNNING"
    return "CACHED" if cached else "DONE"


def error_calls() -> Select:
    """The call hashes whose result is an error."""
    return (
        select(call_node_t.c.call_hash)
        .join(value_t, value_t.c.value_hash == call_node_t.c.value_hash)
        .where(value_t.c.type == ERROR_VALUE_TYPE)
    )


def job_status_column() -> ColumnElement[str]:
    """A job's status in SQL, as :func:`job_status` computes it (one query for many jobs)."""
    return literal_column(JOB_STATUS_SQL)


def task_names(conn: Connection) -> dict[str, str]:
    """Full name (``namespace.name``) of every task, by hash."""
    return {
        task_hash: full_name(name, namespace)
        for task_hash, name, namespace in fetch_rows(
            conn, select(task_t.c.hash, task_t.c.name, task_t.c.namespace)
        )
    }


JOB_COLUMNS = (
    job_t.c.id,
    job_t.c.execution_id,
    job_t.c.parent_id,
    job_t.c.task_hash,
    job_t.c.start_time,
    job_t.c.end_time,
    job_t.c.cached,
    job_t.c.call_hash,
)


def read_jobs(conn: Connection, stmt: Select) -> list[JobInfo]:
    """Jobs from ``stmt``, a select of :data:`JOB_COLUMNS` (three queries in all)."""
    rows = fetch_rows(conn, stmt)
    if not rows:
        return []
    names = task_names(conn)
    failed = {row[0] for row in fetch_rows(conn, error_calls())}
    parse = _time_parser(rows[0][4])
    jobs = []
    append = jobs.append
    for job_id, exec_id, parent_id, task_hash, start, end, cached, call_hash in rows:
        if call_hash in failed:
            status = "FAILED"
        elif end is None:
            status = "RUNNING"
        else:
            status = "CACHED" if cached else "DONE"
        name = names.get(task_hash) or task_hash[:8]
        end_time = parse(end) if end is not None else None
        append(
            JobInfo(
                job_id,
                exec_id,
                parent_id,
                task_hash,
                name,
                parse(start),
                end_time,
                bool(cached),
                call_hash,
                status,
            )
        )
    return jobs


def _time_parser(sample: Any) -> Any:
    """The fastest way to read times like ``sample`` (text from raw SQLite rows)."""
    return dt.datetime.fromisoformat if isinstance(sample, str) else as_datetime


# Executions -------------------------------------------------------------------------------
def execution_query() -> Select:
    """Executions joined to their root job, newest first."""
    # Join each execution straight to its root job: a subquery over every job would make
    # SQLite scan the whole job table.
    return (
        select(
            execution_t.c.id,
            execution_t.c.args,
            execution_t.c.updated_time,
            *JOB_COLUMNS,
            task_t.c.name,
            task_t.c.namespace,
            value_t.c.type,
        )
        .select_from(execution_t)
        .outerjoin(job_t, job_t.c.id == execution_t.c.job_id)
        .outerjoin(task_t, task_t.c.hash == job_t.c.task_hash)
        .outerjoin(call_node_t, call_node_t.c.call_hash == job_t.c.call_hash)
        .outerjoin(value_t, value_t.c.value_hash == call_node_t.c.value_hash)
        .order_by(func.coalesce(job_t.c.start_time, execution_t.c.updated_time).desc())
    )


def read_executions(conn: Connection, stmt: Select) -> list[ExecutionInfo]:
    """Executions (with their tags) from ``stmt``, a filtered :func:`execution_query`."""
    executions = []
    for row in fetch_rows(conn, stmt):
        exec_id, args, updated = row[:3]
        job_id, _, parent_id, task_hash, start, end, cached, call_hash = row[3:11]
        name, namespace, value_type = row[11:]
        root = None
        if job_id is not None:
            short = name or task_hash[:8]
            root = JobInfo(
                id=job_id,
                execution_id=exec_id,
                parent_id=parent_id,
                task_hash=task_hash,
                task_name=f"{namespace}.{short}" if namespace else short,
                start_time=as_datetime(start),
                end_time=as_datetime(end),
                cached=bool(cached),
                call_hash=call_hash,
                status=job_status(value_type, end, bool(cached)),
            )
        executions.append(ExecutionInfo(exec_id, _parse_args(args), as_datetime(updated), root))
    tags = get_tags(conn, [e.id for e in executions])
    for execution in executions:
        execution.tags = tags.get(execution.id, {})
    return executions


def list_executions(conn: Connection, limit: int | None = None) -> list[ExecutionInfo]:
    """Executions, newest first (by their root job's start time)."""
    return read_executions(conn, execution_query().limit(limit))


def get_execution(conn: Connection, execution_id: str) -> ExecutionInfo | None:
    """One execution by full id."""
    found = read_executions(conn, execution_query().where(execution_t.c.id == execution_id))
    return found[0] if found else None


def nth_execution_id(conn: Connection, n: int) -> str | None:
    """The id of the n-th most recently started execution (0: the latest)."""
    ids = fetch_rows(conn, execution_query().with_only_columns(execution_t.c.id).offset(n).limit(1))
    return ids[0][0] if ids else None


def latest_execution_id(conn: Connection) -> str | None:
    """The id of the most recently started execution."""
    return nth_execution_id(conn, 0)


def _parse_args(args: str) -> list[str]:
    try:
        parsed = json.loads(args)
    except ValueError:
        return [args]
    return [str(arg) for arg in parsed] if isinstance(parsed, list) else [str(parsed)]


def get_tags(conn: Connection, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current tags of each entity, keyed by entity id then tag key."""
    tags: dict[str, dict[str, Any]] = {}
    for chunk in chunks(entity_ids):
        query = select(tag_t.c.entity_id, tag_t.c.key, tag_t.c.value).where(
            tag_t.c.entity_id.in_(chunk), tag_t.c.is_current.is_(True)
        )
        for entity_id, key, value in conn.execute(query):
            tags.setdefault(entity_id, {})[key] = value
    return tags


# Jobs -------------------------------------------------------------------------------------
def get_job_tree(conn: Connection, execution_id: str) -> list[tuple[int, JobInfo]]:
    """Every job of an execution as (depth, job), parents first, siblings by start time."""
    stmt = (
        select(*JOB_COLUMNS)
        .where(job_t.c.execution_id == execution_id)
        .order_by(job_t.c.start_time)
    )
    jobs = read_jobs(conn, stmt)
    ids = {job.id for job in jobs}
    children: dict[str | None, list[JobInfo]] = {}
    for job in jobs:  # a job whose parent is not in this execution is a root
        parent = job.parent_id if job.parent_id in ids else None
        children.setdefault(parent, []).append(job)
    tree: list[tuple[int, JobInfo]] = []
    stack = [(0, job) for job in reversed(children.get(None, []))]
    while stack:  # iterative: deep job trees must not hit the recursion limit
        depth, job = stack.pop()
        tree.append((depth, job))
        stack.extend((depth + 1, child) for child in reversed(children.get(job.id, ())))
    return tree


def get_job(conn: Connection, job_id: str) -> JobInfo | None:
    """One job by full id."""
    found = read_jobs(conn, select(*JOB_COLUMNS).where(job_t.c.id == job_id))
    return found[0] if found else None


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


# Arguments --------------------------------------------------------------------------------
def call_args_text(
    conn: Connection,
    call_hashes: list[str] | None,
    source: Select | None = None,
    max_len: int = 50,
) -> dict[str, str]:
    """Formatted arguments (``1, 2, key=3``) of these calls (None: every call), by call hash.

    ``source``, a select of the same call hashes (e.g. ``job.call_hash`` of an execution),
    lets a large set be read in one joined query. A set that is a large share of the
    record is read with one plain scan of the argument table instead.
    """
    wanted = None if call_hashes is None else set(call_hashes)
    return call_args_from_rows(_call_arg_rows(conn, wanted, source), wanted, max_len)


def _call_arg_rows(conn: Connection, wanted: set[str] | None, source: Select | None) -> list:
    """Rows (call_hash, position, key, value_hash, type, data) of the wanted calls' arguments
    (and of other calls too when one scan of the argument table is cheaper)."""
    stmt = select(
        argument_t.c.call_hash,
        argument_t.c.arg_position,
        argument_t.c.arg_key,
        argument_t.c.value_hash,
        value_t.c.type,
        value_t.c.value,
    )
    joined = stmt.outerjoin(value_t, value_t.c.value_hash == argument_t.c.value_hash)
    if wanted is None or (len(wanted) > SMALL_SET and _large_share(conn, len(wanted))):
        return fetch_rows(conn, joined)
    if len(wanted) > SMALL_SET and source is not None:
        calls = source.subquery()
        return fetch_rows(
            conn,
            stmt.select_from(
                calls.join(argument_t, argument_t.c.call_hash == calls.c.call_hash).outerjoin(
                    value_t, value_t.c.value_hash == argument_t.c.value_hash
                )
            ),
        )
    return [
        row
        for chunk in chunks(sorted(wanted))
        for row in fetch_rows(conn, joined.where(argument_t.c.call_hash.in_(chunk)))
    ]


def _large_share(conn: Connection, calls: int) -> bool:
    """Whether ``calls`` calls' arguments are a large share of the argument table (SQLite:
    its largest rowid estimates the row count in no time)."""
    if conn.dialect.name != "sqlite":
        return False
    total = fetch_rows(conn, select(func.max(literal_column("rowid"))).select_from(argument_t))
    return calls * 4 >= (total[0][0] or 0)


def get_call_args(
    conn: Connection, call_hashes: Iterable[str], max_len: int = 50
) -> dict[str, list[ArgInfo]]:
    """Arguments of each call: positional ones by position, then keyword ones by key."""
    args: dict[str, list[ArgInfo]] = {}
    for chunk in chunks(list(dict.fromkeys(call_hashes))):
        query = (
            select(argument_t, value_t.c.type, value_t.c.value)
            .outerjoin(value_t, value_t.c.value_hash == argument_t.c.value_hash)
            .where(argument_t.c.call_hash.in_(chunk))
        )
        for row in conn.execute(query):
            preview = preview_value(row.type, row.value, max_len)
            info = ArgInfo(row.arg_position, row.arg_key, row.value_hash, preview, row.arg_hash)
            args.setdefault(row.call_hash, []).append(info)
    for call_hash, infos in args.items():
        unique = {(a.position, a.key): a for a in infos}
        args[call_hash] = sorted(unique.values(), key=lambda a: arg_slot(a.position, a.key))
    return args


def format_args(args: list[ArgInfo]) -> str:
    """``1, 2, key=3`` for a call's arguments."""
    return ", ".join(a.preview if a.key is None else f"{a.key}={a.preview}" for a in args)


# Call nodes, tasks, values -------------------------------------------------------------
def get_call_node(conn: Connection, call_hash: str) -> CallNodeInfo | None:
    """A call node with its arguments, result preview, child calls and parent calls."""
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
    parents_query = (
        select(call_edge_t.c.parent_id, call_node_t.c.task_name)
        .join(call_node_t, call_node_t.c.call_hash == call_edge_t.c.parent_id)
        .where(call_edge_t.c.child_id == call_hash)
        .order_by(call_node_t.c.timestamp.desc())
        .limit(20)
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
        parents=list(dict.fromkeys((p, name) for p, name in conn.execute(parents_query))),
    )


def get_task(conn: Connection, task_hash: str) -> Any:
    """The task row (hash, name, namespace, source) or None."""
    return conn.execute(select(task_t).where(task_t.c.hash == task_hash)).first()


def first_job(conn: Connection, task_hash: str) -> tuple[str, dt.datetime] | None:
    """(id, start time) of the first job that ran a task, or None."""
    row = conn.execute(
        select(job_t.c.id, job_t.c.start_time)
        .where(job_t.c.task_hash == task_hash)
        .order_by(job_t.c.start_time)
        .limit(1)
    ).first()
    return (row.id, row.start_time) if row is not None else None


def get_value(conn: Connection, value_hash: str) -> tuple[str, str] | None:
    """(type, preview) of a stored value, or None."""
    row = conn.execute(
        select(value_t.c.type, value_t.c.value).where(value_t.c.value_hash == value_hash)
    ).first()
    return (row.type, preview_value(row.type, row.value, 1000)) if row is not None else None


def get_file_paths(conn: Connection, value_hashes: list[str]) -> dict[str, str]:
    """The path of each File value among ``value_hashes``."""
    paths: dict[str, str] = {}
    for chunk in chunks(value_hashes):
        stmt = select(file_t.c.value_hash, file_t.c.path).where(file_t.c.value_hash.in_(chunk))
        paths.update({value_hash: path for value_hash, path in conn.execute(stmt)})
    return paths


def load_value(type_name: str | None, data: bytes | None) -> Any:
    """A stored value, or None when it cannot be read here."""
    if type_name is None or data is None:
        return None
    try:
        return deserialize_value(type_name, data)
    except Exception:
        return None
