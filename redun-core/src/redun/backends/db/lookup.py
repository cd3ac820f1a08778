"""Finding records by reference: id prefixes, `-` / `~N` for recent executions, jobs in bulk.

Functions take an open SQLAlchemy ``Connection``; bad references raise :class:`LookupFailed`
with a one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from redun.backends.db import queries
from redun.backends.db.ids import ID_COLUMNS, ID_PATTERN, prefix_clause
from redun.backends.db.models import TABLES
from redun.backends.db.queries import JobInfo, job_status

execution_t, job_t, task_t = TABLES["execution"], TABLES["job"], TABLES["task"]
call_node_t, value_t = TABLES["call_node"], TABLES["value"]

_RECENT_PATTERN = re.compile(r"~(\d+)")


class LookupFailed(Exception):
    """A reference that names no record, or several."""


def match_id(conn: Connection, kind: str, prefix: str) -> str:
    """The one ``kind`` id (execution, job, call_node, task, value) starting with ``prefix``."""
    return match_record(conn, prefix, (kind,))[1]


def match_record(
    conn: Connection, prefix: str, kinds: Iterable[str] = tuple(ID_COLUMNS)
) -> tuple[str, str]:
    """(kind, full id) for ``prefix`` in the first of ``kinds`` with an id starting with it.

    Raises LookupFailed when no id matches, or when several of that kind do.
    """
    kinds = list(kinds)
    labels = [k.replace("_", " ") for k in kinds]
    names = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"
    if not ID_PATTERN.fullmatch(prefix):
        raise LookupFailed(f"{prefix!r} is not a valid {names} id (hex digits and dashes)")
    for kind in kinds:
        column = ID_COLUMNS[kind]
        clause = prefix_clause(conn, column, prefix)
        ids = list(conn.scalars(select(column).where(clause).order_by(column).limit(3)))
        if prefix in ids:
            return kind, prefix
        if len(ids) > 1:
            shown = ", ".join(i[:12] for i in ids[:2])
            raise LookupFailed(
                f"{kind.replace('_', ' ')} id prefix {prefix!r} is ambiguous ({shown}, ...); "
                "give more characters"
            )
        if ids:
            return kind, ids[0]
    raise LookupFailed(f"no {names} has an id starting with {prefix!r}")


def recent_execution(conn: Connection, ref: str) -> str | None:
    """The execution id named by `-` (the latest) or `~N` (the Nth latest, `~1` = `-`).

    None when ``ref`` is neither form.
    """
    if ref == "-":
        back = 1
    else:
        found = _RECENT_PATTERN.fullmatch(ref)
        if found is None:
            return None
        back = int(found.group(1))
        if back < 1:
            raise LookupFailed(f"{ref!r}: ~N counts from 1 (~1 is the latest execution)")
    executions = queries.list_executions(conn, limit=back)
    if len(executions) < back:
        raise LookupFailed(f"{ref!r}: the redun database has only {len(executions)} execution(s)")
    return executions[back - 1].id


def resolve_execution(conn: Connection, ref: str) -> tuple[str, str]:
    """(kind, id) for an execution reference: `-`, `~N`, an execution id or prefix, or a
    job id or prefix (kind "job": that job's subtree)."""
    recent = recent_execution(conn, ref)
    if recent is not None:
        return "execution", recent
    return match_record(conn, ref, ("execution", "job"))


def load_jobs(conn: Connection, where: Any = None, limit: int | None = None) -> list[JobInfo]:
    """Jobs (with task names and status) matching a SQL condition, newest first."""
    query = (
        select(job_t, task_t.c.name, task_t.c.namespace, value_t.c.type)
        .outerjoin(task_t, task_t.c.hash == job_t.c.task_hash)
        .outerjoin(call_node_t, call_node_t.c.call_hash == job_t.c.call_hash)
        .outerjoin(value_t, value_t.c.value_hash == call_node_t.c.value_hash)
        .order_by(job_t.c.start_time.desc())
        .limit(limit)
    )
    if where is not None:
        query = query.where(where)
    jobs = []
    for row in conn.execute(query):
        m = row._mapping
        name = m["name"] or m["task_hash"][:8]
        jobs.append(
            JobInfo(
                id=m["id"],
                execution_id=m["execution_id"],
                parent_id=m["parent_id"],
                task_hash=m["task_hash"],
                task_name=f"{m['namespace']}.{name}" if m["namespace"] else name,
                start_time=m["start_time"],
                end_time=m["end_time"],
                cached=bool(m["cached"]),
                call_hash=m["call_hash"],
                status=job_status(m["type"], m["end_time"], bool(m["cached"])),
            )
        )
    return jobs
