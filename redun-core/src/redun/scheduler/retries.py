"""Retries: ``@task(retries=N)`` runs a failing task up to N more times, with backoff.

Each failed attempt is recorded as a job row of its own (same parent, ended, its call
node holding the error); the job that finally succeeds, or fails for the last time,
keeps the original job id, so the execution and the call graph look as they would
without the retries. The wait before attempt k+1 is ``retry_backoff * 2**(k-1)``
seconds (the task option, else ``[scheduler] retry_backoff``, default 1), counted on
the timer thread, which posts the job back into the scheduler's event queue: the
scheduler never sleeps. A cancelled job (JobCancelledError) is never retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redun.backends.base import JobStart, now_micros
from redun.scheduler.errors import ErrorValue, JobCancelledError, SchedulerError
from redun.scheduler.job import PENDING, new_job_id
from redun.scheduler.report import format_call, logger
from redun.scheduler.timer import Alarm, timer

if TYPE_CHECKING:
    from redun.scheduler.core import Scheduler
    from redun.scheduler.job import Job
    from redun.task import Task

DEFAULT_BACKOFF = 1.0
MAX_BACKOFF = 300.0
RETRY = object()  # the result of an event that says "run this job again now"


def task_retries(task: Task) -> int:
    """How many times a failing job of ``task`` runs again (the ``retries`` option)."""
    value = task.get_option("retries", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchedulerError(f"task {task.fullname} has retries={value!r}; use a whole number >= 0")
    return value


def parse_backoff(value: Any, where: str) -> float:
    """A backoff in seconds (a number >= 0); ``where`` names the setting in errors."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds >= 0:
        raise SchedulerError(f"{where} = {value!r} is not a number of seconds >= 0")
    return seconds


class Retrier:
    """Decides whether a failed job runs again, records the attempt and schedules it."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        setting = scheduler.config.sections.get("scheduler", {}).get("retry_backoff")
        self.backoff = (
            DEFAULT_BACKOFF
            if setting is None
            else parse_backoff(setting, "[scheduler] retry_backoff")
        )
        self._failures: dict[str, int] = {}  # job id -> failed attempts so far
        self._started: dict[str, int] = {}  # job id -> start of its current attempt (µs)
        self._waiting: dict[str, Alarm] = {}  # job id -> the alarm that runs it again

    def check(self, task: Task) -> None:
        """Raise SchedulerError if ``task``'s retry options are malformed."""
        if task_retries(task) and task.has_option("retry_backoff"):
            parse_backoff(task.get_option("retry_backoff"), f"task {task.fullname} retry_backoff")

    def retry(self, job: Job, error: BaseException) -> bool:
        """Whether failed ``job`` runs again: if so, its attempt is recorded and scheduled."""
        scheduler = self.scheduler
        if (
            not isinstance(error, Exception)
            or isinstance(error, JobCancelledError)
            or scheduler._failing
        ):
            return False
        allowed = task_retries(job.task)
        failures = self._failures.get(job.id, 0)
        if failures >= allowed:
            return False
        self._failures[job.id] = failures + 1
        self._record_attempt(job, error)
        base = self._backoff(job.task)
        delay = min(base * 2**failures, max(MAX_BACKOFF, base))
        logger.warning(
            "Retry  Job %s:  %s failed (%r); attempt %d of %d in %.3g s",
            job.id[:8],
            format_call(job),
            error,
            failures + 2,
            allowed + 1,
            delay,
        )
        job.status = PENDING
        scheduler._in_flight += 1  # the alarm's event keeps the loop waiting for it
        events = scheduler._events
        self._waiting[job.id] = timer.call_later(
            delay, lambda: events.put((job, RETRY, None, None))
        )
        return True

    def due(self, job: Job) -> bool:
        """A retry alarm went off: whether ``job`` still waits for it (it then runs again)."""
        if self._waiting.pop(job.id, None) is None:
            return False  # ended meanwhile (the execution failed)
        self._started[job.id] = now_micros()
        return True

    def stop_waiting(self) -> None:
        """The execution is failing: run no more attempts, stop waiting for their alarms."""
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, {}
        for alarm in waiting.values():
            if alarm.cancel():
                self.scheduler._in_flight -= 1  # its event will never come
            # else the event is on its way: ``due`` finds nothing and drops it

    def forget(self, job: Job) -> None:
        """``job`` ended: drop its state and any retry still waiting."""
        alarm = self._waiting.pop(job.id, None)
        if alarm is not None:
            alarm.cancel()
        if self._failures:
            self._failures.pop(job.id, None)
            self._started.pop(job.id, None)

    def _backoff(self, task: Task) -> float:
        if task.has_option("retry_backoff"):
            return parse_backoff(task.get_option("retry_backoff"), "retry_backoff")
        return self.backoff

    def _record_attempt(self, job: Job, error: BaseException) -> None:
        """Record the failed attempt as an ended job row of its own, with its error call."""
        scheduler = self.scheduler
        if scheduler._dryrun:
            return
        if not hasattr(error, "__redun_task__"):
            try:
                error.__redun_task__ = job.task.fullname  # type: ignore[attr-defined]
            except AttributeError:
                pass
        error_value = ErrorValue(error, getattr(error, "__redun_traceback__", None))
        scheduler._record_call(job, error_value, error_value.get_hash())
        scheduler.backend.record_job_start(
            JobStart(
                id=new_job_id(),
                execution_id=job.execution_id,
                parent_id=job.parent.id if job.parent else None,
                task_hash=job.task.hash,
                start_time=self._started.get(job.id, job.start_time),
                end_time=now_micros(),
                call_hash=job.call_hash,
            )
        )
        # The next attempt starts afresh: no call node of its own yet.
        job.call_hash = None
        job.subtree_tasks = frozenset()
