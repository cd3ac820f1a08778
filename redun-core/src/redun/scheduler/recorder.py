"""Turning the scheduler's jobs into records for the backend (none in a dry run)."""

from __future__ import annotations

import getpass
import json
from functools import partial
from typing import Any

from redun.backends.base import (
    ArgumentRecord,
    Backend,
    CallRecord,
    ExecutionRecord,
    JobEnd,
    JobStart,
    TagRecord,
    ValueRecord,
    now_micros,
)
from redun.hashing import hash_argument
from redun.scheduler.job import Job, JobInfo
from redun.tags import tag_pairs
from redun.values import get_value_hash, serialize_value


def argument_records(
    call_hash: str,
    args: tuple,
    arg_hashes: list[str],
    kwargs: dict[str, Any],
    kwarg_hashes: dict[str, str],
    upstream: dict[int | str, Job],
) -> list[ArgumentRecord]:
    """The argument records of one call, with the calls that produced each argument."""

    def record(position: int | None, key: str | None, value: Any, value_hash: str):
        if type(value) is JobInfo:  # the task got this job's info; the call holds the placeholder
            value = JobInfo()
        producer = upstream.get(position if key is None else key)  # type: ignore[arg-type]
        return ArgumentRecord(
            arg_hash=hash_argument(call_hash, position, key, value_hash),
            value=ValueRecord(value_hash, value),
            position=position,
            key=key,
            upstream_call_hashes=[producer.call_hash] if producer and producer.call_hash else [],
        )

    records = [
        record(position, None, arg, arg_hash)
        for position, (arg, arg_hash) in enumerate(zip(args, arg_hashes))
    ]
    records += [record(None, key, kwargs[key], arg_hash) for key, arg_hash in kwarg_hashes.items()]
    return records


class Recorder:
    """Records one execution: its jobs, their calls and arguments, and the execution row."""

    def __init__(
        self,
        backend: Backend,
        execution_id: str,
        exec_argv: list[str],
        tags: dict[str, Any],
        recorded_tasks: set[str],
        dryrun: bool,
        root_parent_id: str | None = None,
    ) -> None:
        self.backend = backend
        self.execution_id = execution_id
        self.exec_argv = exec_argv
        self.tags = tags
        self.recorded_tasks = recorded_tasks  # shared by a scheduler's runs
        self.dryrun = dryrun
        self.root_job: Job | None = None
        self.root_parent_id = root_parent_id  # a subrun's jobs hang below this job
        self.tagged_tasks: set[str] = set()

    def job_started(self, job: Job, may_wait: bool = False) -> None:
        """Record that ``job`` started, once.

        A child job's row waits until it has to exist (the job is submitted, gets
        children of its own, or ends), so a job reused from the cache is written as one
        row rather than a row and an update. With ``may_wait``, the writer may hold the
        row back briefly for the job's end, for the same reason.
        """
        if not job.recorded and not self.dryrun:
            self._write_job(job, ended=False, may_wait=may_wait)

    def job_ended(self, job: Job) -> None:
        if self.dryrun:
            return
        if not job.recorded:  # started and ended at once: one record holds both
            self._write_job(job, ended=True)
        else:
            self.backend.record_job_end(JobEnd(job.id, now_micros(), job.call_hash, job.cached))

    def _write_job(self, job: Job, ended: bool, may_wait: bool = False) -> None:
        job.recorded = True
        backend, task = self.backend, job.task
        task_hash = task.hash
        if task_hash not in self.recorded_tasks:
            self.recorded_tasks.add(task_hash)
            backend.record_task(task)
        parent = job.parent
        parent_id = parent.id if parent is not None else self.root_parent_id
        if ended:
            row = JobStart(
                job.id,
                job.execution_id,
                parent_id,
                task_hash,
                job.start_time,
                now_micros(),
                job.call_hash,
                job.cached,
            )
        else:
            row = JobStart(job.id, job.execution_id, parent_id, task_hash, job.start_time)
            row.may_wait = may_wait
        if self.root_job is not None or self.root_parent_id is not None:
            backend.record_job_start(row)  # (a subrun extends an execution recorded already)
            self.root_job = self.root_job or job
            return
        self.root_job = job
        backend.record_execution(
            ExecutionRecord(
                id=self.execution_id,
                args=json.dumps(self.exec_argv),
                job_id=job.id,
                updated_time=now_micros(),
                tags=self._execution_tags(job),
                root_job=row,
            )
        )

    def job_tags(self, job: Job) -> None:
        """Record the tags of a finished job: its task's, and those apply_tags gathered."""
        task_tags = job.task.get_option("tags")
        gathered = job.tags
        if self.dryrun or (not task_tags and gathered is None):
            return
        backend = self.backend
        pairs = tag_pairs(task_tags, f"task {job.task.fullname}: tags")
        if pairs and job.task.hash not in self.tagged_tasks:
            self.tagged_tasks.add(job.task.hash)
            backend.record_tags(TagRecord("Task", job.task.hash, pairs))
        job_pairs = pairs + (gathered.job if gathered else [])
        if job_pairs:
            backend.record_tags(TagRecord("Job", job.id, job_pairs))
        if gathered is None:
            return
        for value, value_tags in gathered.values:
            value_hash = get_value_hash(value)
            backend.record_tags(
                TagRecord("Value", value_hash, value_tags, ValueRecord(value_hash, value))
            )
        if gathered.execution:
            backend.record_tags(TagRecord("Execution", self.execution_id, gathered.execution))

    def evaluation(self, job: Job, result: Any, value_hash: str, data: bytes | None) -> None:
        """Remember what ``job``'s body returned, for the next run's cache lookup.

        Serialized now, not on the writer thread later: the result (an expression, say)
        holds the objects its calls received, and a task may change them meanwhile (a
        File written to forgets its hash), which must not change what the record holds
        under ``value_hash``.
        """
        if not self.dryrun:
            if data is None:
                data = serialize_value(result)
            self.backend.record_evaluation(
                job.eval_hash, job.task.hash, job.args_hash, ValueRecord(value_hash, result, data)
            )

    def call(
        self, job: Job, value: Any, value_hash: str, data: bytes | None, child_hashes: list[str]
    ) -> None:
        """Record ``job``'s call node (its hash is already on the job), with its children's."""
        if self.dryrun:
            return
        assert job.call_hash is not None
        # A cached job's call, children and all, is nearly always recorded already (its hash
        # covers its children's): the writer looks it up and writes it only if missing.
        reused = job.cached
        if reused:  # built on the writer's thread, and only if the record lacks the call
            arguments: Any = partial(
                argument_records,
                job.call_hash,
                job.args,
                job.arg_hashes,
                job.kwargs,
                job.kwarg_hashes,
                job.upstream,
            )
        else:
            arguments = argument_records(
                job.call_hash, job.args, job.arg_hashes, job.kwargs, job.kwarg_hashes, job.upstream
            )
        task = job.task
        self.backend.record_call(
            CallRecord(
                job.call_hash,
                task.fullname,
                task.hash,
                job.args_hash,
                ValueRecord(value_hash, value, data),
                arguments,
                child_hashes,
                job.subtree_tasks,
                now_micros(),
                reused,
            )
        )

    def _execution_tags(self, job: Job) -> dict[str, Any]:
        from redun import __version__

        tags: dict[str, Any] = {"redun.version": __version__}
        if job.task.namespace:
            tags["project"] = job.task.namespace
        try:
            tags["user"] = getpass.getuser()
        except Exception:  # no user name in this environment
            pass
        tags.update(self.tags)
        return tags
