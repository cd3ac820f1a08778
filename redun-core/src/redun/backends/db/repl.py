"""Query helpers over an open record, for `redun repl` (and scripts).

Every helper opens a short connection of its own, so nothing stays locked between calls.
Ids may be given in full or as unique prefixes; executions also as `-` or `~N`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, and_, or_, select, text

from redun.backends.db import queries
from redun.backends.db.lookup import load_jobs, match_id, recent_execution
from redun.backends.db.models import TABLES
from redun.backends.db.queries import CallNodeInfo, ExecutionInfo, JobInfo
from redun.backends.db.tags import Tag, current_tags
from redun.values import deserialize_value

job_t, task_t, value_t, tag_t = TABLES["job"], TABLES["task"], TABLES["value"], TABLES["tag"]


class RecordError(LookupError):
    """A helper was asked for a record that is not there."""


@dataclass
class TaskInfo:
    """One recorded task version."""

    hash: str
    fullname: str
    source: str = field(repr=False)


class RecordQueries:
    """Query helpers over the record of ``backend`` (a loaded RedunBackend)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def executions(self, limit: int | None = 20) -> list[ExecutionInfo]:
        """Recent executions, newest first."""
        with self.backend.connect() as conn:
            return queries.list_executions(conn, limit=limit)

    def execution(self, ref: str = "-") -> ExecutionInfo:
        """One execution: an id or prefix, `-` (the latest) or `~N` (the Nth latest)."""
        with self.backend.connect() as conn:
            execution_id = recent_execution(conn, ref) or match_id(conn, "execution", ref)
            found = queries.get_execution(conn, execution_id)
        if found is None:
            raise RecordError(f"execution {execution_id} is not in the record")
        return found

    def jobs(
        self, task_name: str | None = None, execution: str | None = None, limit: int | None = 100
    ) -> list[JobInfo]:
        """Jobs, newest first: of one task (full or short name), of one execution."""
        where = []
        with self.backend.connect() as conn:
            if task_name is not None:
                namespace, _, name = task_name.rpartition(".")
                named = task_t.c.name == name
                where.append(and_(named, task_t.c.namespace == namespace) if namespace else named)
            if execution is not None:
                execution_id = recent_execution(conn, execution) or match_id(
                    conn, "execution", execution
                )
                where.append(job_t.c.execution_id == execution_id)
            return load_jobs(conn, and_(*where) if where else None, limit=limit)

    def job(self, job_id: str) -> JobInfo:
        """One job by id or prefix."""
        with self.backend.connect() as conn:
            return load_jobs(conn, job_t.c.id == match_id(conn, "job", job_id))[0]

    def call_node(self, call_hash: str) -> CallNodeInfo:
        """A call node with its arguments, result preview and child calls."""
        with self.backend.connect() as conn:
            found = queries.get_call_node(conn, match_id(conn, "call_node", call_hash))
        assert found is not None
        return found

    def value(self, value_hash: str) -> Any:
        """A stored value, unpickled (Files come back as File objects)."""
        with self.backend.connect() as conn:
            full = match_id(conn, "value", value_hash)
            row = conn.execute(
                select(value_t.c.type, value_t.c.value).where(value_t.c.value_hash == full)
            ).one()
        return deserialize_value(row.type, row.value)

    def tasks(self, name: str | None = None) -> list[TaskInfo]:
        """Recorded tasks (every version), optionally of one full or short name."""
        query = select(task_t.c.hash, task_t.c.name, task_t.c.namespace, task_t.c.source)
        if name is not None:
            namespace, _, short = name.rpartition(".")
            query = query.where(
                or_(
                    and_(task_t.c.namespace == namespace, task_t.c.name == short),
                    task_t.c.name == name,
                )
            )
        with self.backend.connect() as conn:
            rows = conn.execute(query.order_by(task_t.c.namespace, task_t.c.name)).all()
        return [
            TaskInfo(r.hash, f"{r.namespace}.{r.name}" if r.namespace else r.name, r.source)
            for r in rows
        ]

    def task(self, task_hash: str) -> TaskInfo:
        """One task version by hash or prefix."""
        with self.backend.connect() as conn:
            row = queries.get_task(conn, match_id(conn, "task", task_hash))
        fullname = f"{row.namespace}.{row.name}" if row.namespace else row.name
        return TaskInfo(row.hash, fullname, row.source)

    def tags(self, entity_id: str | None = None) -> list[Tag]:
        """Current tags, of every record or of one record id."""
        with self.backend.connect() as conn:
            tags = current_tags(conn)
        return [t for t in tags if entity_id is None or t.entity_id.startswith(entity_id)]

    def sql(self, statement: str, **params: Any) -> list[Row]:
        """Rows of a SQL query (``:name`` placeholders take ``params``)."""
        with self.backend.connect() as conn:
            return conn.execute(text(statement), params).all()
