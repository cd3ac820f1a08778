"""JSON records for `redun log --format json`: one JSON object per line.

Every object has ``_type`` (Execution, Job, CallNode, Task, Value, File, Count). Field
names follow redun 0.44.1's records (``id``, ``call_hash``, ``value_hash``, ...); times are
UTC (``2024-01-01 10:00:00.123456+00:00``). Showing one record (``redun log ID``) adds its
details: an execution's jobs, a job's call node, task and dataflow, and so on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from redun.backends.db import queries
from redun.backends.db.joblines import full_name
from redun.backends.db.listing import CallNodeRow, ValueRow
from redun.backends.db.queries import ExecutionInfo, JobInfo, job_t


def dumps(record: dict[str, Any]) -> str:
    """One JSON line."""
    return json.dumps(record, sort_keys=True, default=str)


def fmt_time(time: dt.datetime | None) -> str | None:
    return str(time.replace(tzinfo=dt.timezone.utc)) if time is not None else None


# Listed records ---------------------------------------------------------------------------
def execution_json(execution: ExecutionInfo) -> dict[str, Any]:
    return {
        "_type": "Execution",
        "id": execution.id,
        "args": execution.args,
        "job_id": execution.root.id if execution.root else None,
        "status": execution.status,
        "start_time": fmt_time(execution.start_time),
        "end_time": fmt_time(execution.root.end_time if execution.root else None),
        "updated_time": fmt_time(execution.updated_time),
        "tags": execution.tags,
    }


def job_json(job: JobInfo, args: str | None = None) -> dict[str, Any]:
    return {
        "_type": "Job",
        "id": job.id,
        "execution_id": job.execution_id,
        "parent_id": job.parent_id,
        "task_hash": job.task_hash,
        "task_name": job.task_name,
        "call_hash": job.call_hash,
        "args": args,
        "cached": job.cached,
        "status": job.status,
        "start_time": fmt_time(job.start_time),
        "end_time": fmt_time(job.end_time),
    }


def call_node_json(row: CallNodeRow) -> dict[str, Any]:
    return {
        "_type": "CallNode",
        "call_hash": row.call_hash,
        "task_name": row.task_name,
        "task_hash": row.task_hash,
        "args_hash": row.args_hash,
        "value_hash": row.value_hash,
        "timestamp": fmt_time(row.timestamp),
    }


def task_json(row: Any) -> dict[str, Any]:
    task_hash, name, namespace, source = tuple(row)[:4]
    return {
        "_type": "Task",
        "hash": task_hash,
        "name": name,
        "namespace": namespace,
        "fullname": full_name(name, namespace),
        "source": source,
    }


def value_json(row: ValueRow) -> dict[str, Any]:
    return {
        "_type": "Value",
        "value_hash": row.value_hash,
        "type": row.type,
        "format": row.format,
        "preview": row.preview,
    }


def file_json(value_hash: str, path: str) -> dict[str, Any]:
    return {"_type": "File", "value_hash": value_hash, "path": path}


def count_json(label: str, count: int) -> dict[str, Any]:
    return {"_type": "Count", "kind": label, "count": count}


# One record in full ---------------------------------------------------------------------
def execution_detail(conn: Connection, execution: ExecutionInfo) -> dict[str, Any]:
    """The execution with its jobs (tree order, each with its ``depth``)."""
    tree = queries.get_job_tree(conn, execution.id)
    calls = select(job_t.c.call_hash).where(job_t.c.execution_id == execution.id)
    wanted = [job.call_hash for _, job in tree if job.call_hash]
    args = queries.call_args_text(conn, wanted, calls)
    record = execution_json(execution)
    record["jobs"] = [
        {**job_json(job, args.get(job.call_hash or "")), "depth": depth} for depth, job in tree
    ]
    return record


def job_detail(conn: Connection, job: JobInfo) -> dict[str, Any]:
    """The job with its call node, task and upstream dataflow."""
    args = queries.call_args_text(conn, [job.call_hash] if job.call_hash else [])
    record = job_json(job, args.get(job.call_hash or ""))
    chain = queries.get_job_ancestors(conn, job)
    record["ancestors"] = [j.id for j in chain[:-1]]
    record["task"] = task_detail(conn, job.task_hash, first_job=False)
    record["call_node"] = None
    if job.call_hash:
        ancestry = [j.call_hash for j in chain if j.call_hash]
        record["call_node"] = call_node_detail(conn, job.call_hash, ancestry, with_task=False)
    return record


def call_node_detail(
    conn: Connection,
    call_hash: str,
    ancestry: Sequence[str] = (),
    with_task: bool = True,
) -> dict[str, Any] | None:
    """The call node with its arguments, result, neighbours, task and dataflow."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    node = queries.get_call_node(conn, call_hash)
    if node is None:
        return None
    record = call_node_json(
        CallNodeRow(
            node.call_hash,
            node.task_name,
            node.task_hash,
            node.args_hash,
            node.value_hash,
            node.timestamp,
        )
    )
    record["args"] = [
        {"position": a.position, "key": a.key, "value_hash": a.value_hash, "preview": a.preview}
        for a in node.args
    ]
    record["result"] = {"value_hash": node.value_hash, "preview": node.preview}
    record["raised"] = node.is_error
    record["children"] = [child for child, _ in node.children]
    record["parents"] = [parent for parent, _ in node.parents]
    if with_task:
        record["task"] = task_detail(conn, node.task_hash, first_job=False)
    flow = provenance.call_dataflow(conn, call_hash, list(ancestry))
    record["dataflow"] = dataclasses.asdict(flow) if flow is not None else None
    return record


def task_detail(conn: Connection, task_hash: str, first_job: bool = True) -> dict[str, Any] | None:
    """The task with its source (and the first job that ran it)."""
    task = queries.get_task(conn, task_hash)
    if task is None:
        return None
    record = task_json(task)
    if first_job:
        first = queries.first_job(conn, task_hash)
        record["first_job"] = first[0] if first else None
    return record


def value_detail(conn: Connection, value_hash: str) -> dict[str, Any] | None:
    """The value (a File with its path) and its upstream dataflow."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    found = queries.get_value(conn, value_hash)
    if found is None:
        return None
    type_name, preview = found
    path = queries.get_file_paths(conn, [value_hash]).get(value_hash)
    record: dict[str, Any] = (
        file_json(value_hash, path)
        if path is not None
        else {"_type": "Value", "value_hash": value_hash, "type": type_name}
    )
    record["preview"] = preview
    flow = provenance.value_dataflow(conn, value_hash)
    record["dataflow"] = dataclasses.asdict(flow) if flow is not None else None
    return record


def file_detail(conn: Connection, files: list[tuple[str, str]]) -> dict[str, Any]:
    """A path's File with the job that produced it (``job`` is None if none did)."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    producers = provenance.file_producers(conn, [value_hash for value_hash, _ in files])
    value_hash = producers[0][1] if producers else files[0][0]
    record = file_json(value_hash, dict(files)[value_hash])
    record["job"] = job_detail(conn, producers[0][0]) if producers else None
    return record
