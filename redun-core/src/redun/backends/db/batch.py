"""Turning queued records into table rows, one batch (= one transaction) at a time.

Runs on the writer thread: values are serialized here, off the scheduler's path.
Content-addressed rows already written by this process are skipped.
"""

from __future__ import annotations

import time
from typing import Any

from redun.backends.base import (
    CallRecord,
    ExecutionRecord,
    HandleRecord,
    JobEnd,
    JobStart,
    Record,
    TagRecord,
    ValueRecord,
)
from redun.file import File
from redun.hashing import hash_tag
from redun.values import (
    MIME_PICKLE,
    Value,
    get_subvalues,
    get_type_name,
    get_value_hash,
    serialize_value,
)


class EvaluationRecord(Record):
    """A task's immediate result for one eval_hash (queued by ``record_evaluation``)."""

    __slots__ = ("eval_hash", "task_hash", "args_hash", "result")

    def __init__(self, eval_hash: str, task_hash: str, args_hash: str, result: ValueRecord):
        self.eval_hash = eval_hash
        self.task_hash = task_hash
        self.args_hash = args_hash
        self.result = result


class TaskRecord(Record):
    """A task definition to store (queued by ``record_task``)."""

    __slots__ = ("task",)

    def __init__(self, task: Any) -> None:
        self.task = task


class Written:
    """Hashes this process has already committed (so they are not sent again)."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.tasks: set[str] = set()
        self.calls: set[str] = set()
        self.tags: set[str] = set()

    def update(self, batch: Batch) -> None:
        self.values.update(batch.values)
        self.tasks.update(batch.tasks)
        self.calls.update(batch.call_nodes)
        self.tags.update(batch.tags)


class WaitingJobs:
    """Rows of started jobs held back for a while, in the hope their end comes first.

    A job that ends within the wait is written as one insert instead of an insert
    and an update. Rows are kept oldest first; a row leaves when its job ends, when
    a new row names it as parent (which needs it written), or when it expires.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[dict, float]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def hold(self, row: dict, since: float) -> None:
        self._rows[row["id"]] = (row, since)

    def take(self, job_id: str | None) -> dict | None:
        """The row of ``job_id`` if it is waiting, no longer waiting."""
        entry = self._rows.pop(job_id, None) if job_id is not None else None
        return entry[0] if entry is not None else None

    def oldest_since(self) -> float | None:
        return next(iter(self._rows.values()))[1] if self._rows else None

    def take_expired(self, before: float) -> list[dict]:
        """Rows held since before ``before`` (oldest first); all rows with ``before=inf``."""
        expired = []
        for row, since in self._rows.values():
            if since >= before:
                break
            expired.append(row)
        for row in expired:
            del self._rows[row["id"]]
        return expired


class Batch:
    """Rows for every table, gathered from a run of records, in insertion order."""

    def __init__(self, written: Written, waiting: WaitingJobs | None = None) -> None:
        self.written = written
        self.waiting = waiting if waiting is not None else WaitingJobs()
        self._may_wait: list[str] = []  # this batch's new rows that may wait for their end
        self._parents: set[str] = set()  # job ids this batch's rows name as parent
        self.tasks: dict[str, dict] = {}
        self.values: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.subvalues: dict[tuple[str, str], dict] = {}
        self.handles: dict[str, dict] = {}
        self.handle_edges: dict[tuple[str, str], dict] = {}
        self.call_nodes: dict[str, dict] = {}
        self.call_edges: list[dict] = []
        self.subtree_tasks: list[dict] = []
        self.arguments: dict[str, dict] = {}
        self.argument_results: list[dict] = []
        self.evaluations: dict[str, dict] = {}
        self.job_inserts: dict[str, dict] = {}
        self.job_updates: dict[str, dict] = {}
        self.executions: dict[str, dict] = {}
        self.tags: dict[str, dict] = {}
        self.reused_calls: dict[str, CallRecord] = {}

    def __bool__(self) -> bool:
        return any(
            (self.tasks, self.values, self.call_nodes, self.evaluations, self.job_inserts,
             self.job_updates, self.executions, self.tags, self.reused_calls, self.handles)
        )  # fmt: skip

    def table_rows(self) -> list[tuple[str, list[dict]]]:
        """(table, rows) in foreign-key order; ``job_update`` updates jobs started earlier."""
        return [
            ("task", list(self.tasks.values())),
            ("value", list(self.values.values())),
            ("file", list(self.files.values())),
            ("subvalue", list(self.subvalues.values())),
            ("handle", list(self.handles.values())),
            ("handle_edge", list(self.handle_edges.values())),
            ("call_node", list(self.call_nodes.values())),
            ("call_edge", self.call_edges),
            ("call_subtree_task", self.subtree_tasks),
            ("argument", list(self.arguments.values())),
            ("argument_result", self.argument_results),
            ("evaluation", list(self.evaluations.values())),
            ("job", list(self.job_inserts.values())),
            ("execution", list(self.executions.values())),
            ("job_update", list(self.job_updates.values())),
            ("tag", list(self.tags.values())),
        ]

    def add(self, record: Any) -> None:
        """Add one queued record's rows."""
        if isinstance(record, JobStart):
            self._add_job_start(record)
        elif isinstance(record, JobEnd):
            self._add_job_end(record)
        elif isinstance(record, CallRecord):
            if record.reused and record.call_hash not in self.written.calls:
                self.reused_calls[record.call_hash] = record  # checked against the database
            else:
                self._add_call(record)
        elif isinstance(record, EvaluationRecord):
            self.add_value(record.result)
            self.evaluations[record.eval_hash] = {
                "eval_hash": record.eval_hash,
                "task_hash": record.task_hash,
                "args_hash": record.args_hash,
                "value_hash": record.result.value_hash,
            }
        elif isinstance(record, TaskRecord):
            self._add_task(record.task)
        elif isinstance(record, ExecutionRecord):
            self._add_execution(record)
        elif isinstance(record, HandleRecord):
            self._add_handles(record)
        elif isinstance(record, TagRecord):
            if record.value is not None:
                self.add_value(record.value)
            self._add_tags(record.entity_type, record.entity_id, record.tags)
        else:
            raise TypeError(f"unknown record type {type(record).__name__}")

    # Values -------------------------------------------------------------------------
    def add_value(self, record: ValueRecord) -> None:
        """Add a value row (plus file and subvalue rows) unless already stored."""
        value_hash = record.value_hash
        if value_hash in self.values or value_hash in self.written.values:
            return
        self._value_row(value_hash, record.value, record.data)
        for sub in get_subvalues(record.value):
            sub_hash = get_value_hash(sub)
            self.subvalues[(sub_hash, value_hash)] = {
                "value_hash": sub_hash,
                "parent_value_hash": value_hash,
            }
            if sub_hash not in self.values and sub_hash not in self.written.values:
                self._value_row(sub_hash, sub, None)

    def _value_row(self, value_hash: str, value: Any, data: bytes | None) -> None:
        fmt = value.get_serialization_format() if isinstance(value, Value) else MIME_PICKLE
        self.values[value_hash] = {
            "value_hash": value_hash,
            "type": get_type_name(value),
            "format": fmt,
            "value": data if data is not None else serialize_value(value),
        }
        if isinstance(value, File):
            self.files[value_hash] = {"value_hash": value_hash, "path": value.path}

    def _add_handles(self, record: HandleRecord) -> None:
        """Rows for a handle state (always marked valid again) and its edges from parents."""
        child = record.handle.__handle__.hash
        for handle in (record.handle, *record.parents):
            info = handle.__handle__
            self.add_value(ValueRecord(info.hash, handle))
            self.handles[info.hash] = {
                "hash": info.hash,
                "fullname": info.fullname,
                "value_hash": info.hash,
                "key": info.key,
                "is_valid": True,
            }
        for parent in record.parents:
            edge = (parent.__handle__.hash, child)
            if edge[0] != child:
                self.handle_edges[edge] = {"parent_id": edge[0], "child_id": child}

    # Tasks and calls ------------------------------------------------------------------
    def _add_task(self, task: Any) -> None:
        task_hash = task.hash
        if task_hash in self.tasks or task_hash in self.written.tasks:
            return
        self.tasks[task_hash] = {
            "hash": task_hash,
            "name": task.name,
            "namespace": task.namespace,
            "source": task.source,
        }
        self.add_value(ValueRecord(task_hash, task))

    def add_reused_calls(self, existing: set[str]) -> None:
        """Add the rows of reused calls the database turned out not to have."""
        for call_hash, call in self.reused_calls.items():
            if call_hash not in existing:
                self._add_call(call)
        self.reused_calls = {}

    def _add_call(self, call: CallRecord) -> None:
        call_hash = call.call_hash
        if call_hash in self.call_nodes or call_hash in self.written.calls:
            return
        self.add_value(call.result)
        self.call_nodes[call_hash] = {
            "call_hash": call_hash,
            "task_name": call.task_name,
            "task_hash": call.task_hash,
            "args_hash": call.args_hash,
            "value_hash": call.result.value_hash,
            "timestamp": call.timestamp,
        }
        self.call_edges.extend(
            {"parent_id": call_hash, "child_id": child, "call_order": order}
            for order, child in enumerate(call.child_call_hashes)
        )
        self.subtree_tasks.extend(
            {"call_hash": call_hash, "task_hash": task_hash}
            for task_hash in sorted(call.subtree_task_hashes)
        )
        for arg in call.argument_records():
            self.add_value(arg.value)
            self.arguments[arg.arg_hash] = {
                "arg_hash": arg.arg_hash,
                "call_hash": call_hash,
                "value_hash": arg.value.value_hash,
                "arg_position": arg.position,
                "arg_key": arg.key,
            }
            self.argument_results.extend(
                {"arg_hash": arg.arg_hash, "result_call_hash": upstream}
                for upstream in arg.upstream_call_hashes
            )

    # Jobs and executions ------------------------------------------------------------
    def _add_job_start(self, job: JobStart) -> None:
        parent_id = job.parent_id
        if parent_id is not None:
            self._parents.add(parent_id)
            parent = self.waiting.take(parent_id)  # a child's row needs its parent's row
            if parent is not None:
                self.job_inserts[parent_id] = parent
        if job.may_wait and job.end_time is None:
            self._may_wait.append(job.id)
        self.job_inserts[job.id] = {
            "id": job.id,
            "start_time": job.start_time,
            "end_time": job.end_time,
            "task_hash": job.task_hash,
            "cached": job.cached,
            "call_hash": job.call_hash,
            "parent_id": job.parent_id,
            "execution_id": job.execution_id,
        }

    def _add_job_end(self, job: JobEnd) -> None:
        row = self.job_inserts.get(job.id)
        if row is None:
            row = self.waiting.take(job.id)
            if row is not None:
                self.job_inserts[job.id] = row
        if row is not None:  # started and ended within this batch: one insert
            row.update(end_time=job.end_time, call_hash=job.call_hash, cached=job.cached)
            return
        self.job_updates[job.id] = {
            "b_id": job.id,
            "b_end_time": job.end_time,
            "b_call_hash": job.call_hash,
            "b_cached": job.cached,
        }

    def hold_back_unfinished(self) -> None:
        """Move this batch's rows of jobs still running (and nobody's parent) to the waiting."""
        now = time.monotonic()
        for job_id in self._may_wait:
            row = self.job_inserts.get(job_id)
            if row is not None and row["end_time"] is None and job_id not in self._parents:
                self.waiting.hold(self.job_inserts.pop(job_id), now)
        self._may_wait = []

    def add_waiting(self, before: float) -> None:
        """Write the waiting rows held since before ``before`` with this batch."""
        for row in self.waiting.take_expired(before):
            self.job_inserts[row["id"]] = row

    def _add_execution(self, execution: ExecutionRecord) -> None:
        if execution.root_job is not None:
            self._add_job_start(execution.root_job)
        self.executions[execution.id] = {
            "id": execution.id,
            "args": execution.args,
            "job_id": execution.job_id,
            "updated_time": execution.updated_time,
        }
        self._add_tags("Execution", execution.id, execution.tags.items())

    def _add_tags(self, entity_type: str, entity_id: str, tags: Any) -> None:
        for key, value in tags:
            digest = hash_tag(entity_id, key, value)
            if digest in self.written.tags:
                continue
            self.tags[digest] = {
                "tag_hash": digest,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "key": key,
                "value": value,
                "is_current": True,
            }
