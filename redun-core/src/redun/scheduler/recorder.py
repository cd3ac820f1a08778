"""Turning the scheduler's jobs into records for the backend (none in a dry run)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterable
from typing import Any

from redun.backends.base import (
    ArgumentRecord,
    Backend,
    CallRecord,
    ExecutionRecord,
    JobEnd,
    JobStart,
    ValueRecord,
)
from redun.hashing import hash_argument
from redun.scheduler.job import Job


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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
    ) -> None:
        self.backend = backend
        self.execution_id = execution_id
        self.exec_argv = exec_argv
        self.tags = tags
        self.recorded_tasks = recorded_tasks  # shared by a scheduler's runs
        self.dryrun = dryrun
        self.root_job: Job | None = None

    def job_started(self, job: Job) -> None:
        """Record that ``job`` started, once.

        A child job's row waits until it has to exist (the job is submitted, gets
        children of its own, or ends), so a job reused from the cache is written as one
        row rather than a row and an update.
        """
        if job.recorded or self.dryrun:
            return
        job.recorded = True
        backend, task = self.backend, job.task
        if task.hash not in self.recorded_tasks:
            self.recorded_tasks.add(task.hash)
            backend.record_task(task)
        parent_id = job.parent.id if job.parent else None
        backend.record_job_start(
            JobStart(job.id, job.execution_id, parent_id, task.hash, job.start_time)
        )
        if self.root_job is None:
            self.root_job = job
            backend.record_execution(
                ExecutionRecord(
                    id=self.execution_id,
                    args=json.dumps(self.exec_argv),
                    job_id=job.id,
                    updated_time=utcnow(),
                    tags=self._execution_tags(job),
                )
            )

    def job_ended(self, job: Job) -> None:
        if self.dryrun:
            return
        self.job_started(job)
        self.backend.record_job_end(JobEnd(job.id, utcnow(), job.call_hash, job.cached))

    def evaluation(self, job: Job, result: Any, value_hash: str, data: bytes | None) -> None:
        """Remember what ``job``'s body returned, for the next run's cache lookup."""
        if not self.dryrun:
            self.backend.record_evaluation(
                job.eval_hash, job.task.hash, job.args_hash, ValueRecord(value_hash, result, data)
            )

    def call(
        self, job: Job, value: Any, value_hash: str, data: bytes | None, children: Iterable[Job]
    ) -> None:
        """Record ``job``'s call node (its hash is already on the job)."""
        if self.dryrun:
            return
        assert job.call_hash is not None
        child_hashes = [c.call_hash for c in children if c.call_hash is not None]
        self.backend.record_call(
            CallRecord(
                call_hash=job.call_hash,
                task_name=job.task.fullname,
                task_hash=job.task.hash,
                args_hash=job.args_hash,
                result=ValueRecord(value_hash, value, data),
                arguments=self._arguments(job),
                child_call_hashes=child_hashes,
                subtree_task_hashes=set(job.subtree_tasks),
                timestamp=utcnow(),
                reused=job.cached and not child_hashes,
            )
        )

    def _arguments(self, job: Job) -> list[ArgumentRecord]:
        call_hash = job.call_hash
        assert call_hash is not None
        records = [
            self._argument(job, call_hash, position, None, arg, arg_hash)
            for position, (arg, arg_hash) in enumerate(zip(job.args, job.arg_hashes))
        ]
        records += [
            self._argument(job, call_hash, None, key, job.kwargs[key], arg_hash)
            for key, arg_hash in job.kwarg_hashes.items()
        ]
        return records

    @staticmethod
    def _argument(
        job: Job, call_hash: str, position: int | None, key: str | None, value: Any, value_hash: str
    ) -> ArgumentRecord:
        upstream = job.upstream.get(position if key is None else key)  # type: ignore[arg-type]
        upstream_hashes = (
            [upstream.call_hash] if upstream is not None and upstream.call_hash else []
        )
        return ArgumentRecord(
            arg_hash=hash_argument(call_hash, position, key, value_hash),
            value=ValueRecord(value_hash, value),
            position=position,
            key=key,
            upstream_call_hashes=upstream_hashes,
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
