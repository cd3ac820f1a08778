"""Turning queued records into row messages, one batch (= one transaction) at a time.

Runs on the writer thread: values are serialized here, off the scheduler's path.
The messages are plain tuples (see rows.py), so that a SQLite file's write
process can take them whole. Content-addressed rows this process has already
written are skipped.
"""

from __future__ import annotations

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
from redun.backends.db.rows import JOB, JOB_END
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
    """Hashes this process has already handed to the database (so they are not sent again)."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.tasks: set[str] = set()
        self.calls: set[str] = set()
        self.tags: set[str] = set()

    def update(self, batch: Batch) -> None:
        self.values.update(batch.values)
        self.tasks.update(batch.tasks)
        self.calls.update(batch.calls)
        self.tags.update(batch.tags)


class Batch:
    """The messages of a run of records, in order, for one transaction."""

    def __init__(self, written: Written) -> None:
        self.written = written
        self.messages: list[tuple] = []
        self.values: set[str] = set()  # content-addressed keys of this batch's rows
        self.tasks: set[str] = set()
        self.calls: set[str] = set()
        self.tags: set[str] = set()
        self.reused_calls: dict[str, CallRecord] = {}  # checked against the database
        self.may_wait = False  # holds the row of a job that may wait for its end

    def __bool__(self) -> bool:
        return bool(self.messages or self.reused_calls)

    def add(self, record: Any) -> None:
        """Add one queued record's messages."""
        adder = _ADDERS.get(type(record))
        if adder is None:
            raise TypeError(f"unknown record type {type(record).__name__}")
        adder(self, record)

    def add_reused_calls(self, existing: set[str]) -> None:
        """Add the messages of reused calls the database turned out not to have."""
        for call_hash, call in self.reused_calls.items():
            if call_hash not in existing:
                self._add_call(call)
        self.reused_calls = {}

    # Values -------------------------------------------------------------------------
    def add_value(self, record: ValueRecord) -> None:
        """Add a value row (plus file and subvalue rows) unless already stored."""
        value_hash = record.value_hash
        if value_hash in self.values or value_hash in self.written.values:
            return
        self._value_row(value_hash, record.value, record.data)
        for sub in get_subvalues(record.value):
            sub_hash = get_value_hash(sub)
            self.messages.append(("subvalue", sub_hash, value_hash))
            if sub_hash not in self.values and sub_hash not in self.written.values:
                self._value_row(sub_hash, sub, None)

    def _value_row(self, value_hash: str, value: Any, data: bytes | None) -> None:
        self.values.add(value_hash)
        fmt = value.get_serialization_format() if isinstance(value, Value) else MIME_PICKLE
        if data is None:
            data = serialize_value(value)
        self.messages.append(("value", value_hash, get_type_name(value), fmt, data))
        if isinstance(value, File):
            self.messages.append(("file", value_hash, value.path))

    def _add_handles(self, record: HandleRecord) -> None:
        """Rows for a handle state (always marked valid again) and its edges from parents."""
        child = record.handle.__handle__.hash
        for handle in (record.handle, *record.parents):
            info = handle.__handle__
            self.add_value(ValueRecord(info.hash, handle))
            self.messages.append(("handle", info.hash, info.fullname, info.hash, info.key, True))
        for parent in record.parents:
            parent_hash = parent.__handle__.hash
            if parent_hash != child:
                self.messages.append(("handle_edge", parent_hash, child))

    # Tasks and calls ------------------------------------------------------------------
    def _add_task_record(self, record: TaskRecord) -> None:
        task = record.task
        task_hash = task.hash
        if task_hash in self.tasks or task_hash in self.written.tasks:
            return
        self.tasks.add(task_hash)
        self.messages.append(("task", task_hash, task.name, task.namespace, task.source))
        self.add_value(ValueRecord(task_hash, task))

    def _add_call_record(self, call: CallRecord) -> None:
        if call.reused and call.call_hash not in self.written.calls:
            self.reused_calls[call.call_hash] = call
        else:
            self._add_call(call)

    def _add_call(self, call: CallRecord) -> None:
        call_hash = call.call_hash
        if call_hash in self.calls or call_hash in self.written.calls:
            return
        self.calls.add(call_hash)
        self.add_value(call.result)
        messages = self.messages
        messages.append(
            ("call_node", call_hash, call.task_name, call.task_hash, call.args_hash,
             call.result.value_hash, call.timestamp)
        )  # fmt: skip
        messages.extend(
            ("call_edge", call_hash, child, order)
            for order, child in enumerate(call.child_call_hashes)
        )
        messages.extend(
            ("call_subtree_task", call_hash, task_hash)
            for task_hash in sorted(call.subtree_task_hashes)
        )
        for arg in call.argument_records():
            self.add_value(arg.value)
            messages.append(
                ("argument", arg.arg_hash, call_hash, arg.value.value_hash, arg.position, arg.key)
            )
            messages.extend(
                ("argument_result", arg.arg_hash, upstream) for upstream in arg.upstream_call_hashes
            )

    def _add_evaluation(self, record: EvaluationRecord) -> None:
        self.add_value(record.result)
        self.messages.append(
            ("evaluation", record.eval_hash, record.task_hash, record.args_hash,
             record.result.value_hash)
        )  # fmt: skip

    # Jobs and executions ------------------------------------------------------------
    def _add_job_start(self, job: JobStart) -> None:
        if job.may_wait and job.end_time is None:
            self.may_wait = True
        self.messages.append(
            (JOB, job.id, job.start_time, job.end_time, job.task_hash, job.cached, job.call_hash,
             job.parent_id, job.execution_id, job.may_wait)
        )  # fmt: skip

    def _add_job_end(self, job: JobEnd) -> None:
        self.messages.append((JOB_END, job.id, job.end_time, job.call_hash, job.cached))

    def _add_execution(self, execution: ExecutionRecord) -> None:
        if execution.root_job is not None:
            self._add_job_start(execution.root_job)
        self.messages.append(
            ("execution", execution.id, execution.args, execution.job_id, execution.updated_time)
        )
        self._add_tags("Execution", execution.id, execution.tags.items())

    def _add_tag_record(self, record: TagRecord) -> None:
        if record.value is not None:
            self.add_value(record.value)
        self._add_tags(record.entity_type, record.entity_id, record.tags)

    def _add_tags(self, entity_type: str, entity_id: str, tags: Any) -> None:
        for key, value in tags:
            digest = hash_tag(entity_id, key, value)
            if digest in self.tags or digest in self.written.tags:
                continue
            self.tags.add(digest)
            self.messages.append(("tag", digest, entity_type, entity_id, key, value, True))


_ADDERS = {
    JobStart: Batch._add_job_start,
    JobEnd: Batch._add_job_end,
    CallRecord: Batch._add_call_record,
    EvaluationRecord: Batch._add_evaluation,
    TaskRecord: Batch._add_task_record,
    ExecutionRecord: Batch._add_execution,
    HandleRecord: Batch._add_handles,
    TagRecord: Batch._add_tag_record,
}
