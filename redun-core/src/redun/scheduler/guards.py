"""Limits, retries and timeouts of one run: what the scheduler asks around each job.

The scheduler calls ``admit`` before handing a job to its executor, ``on_report``
when the executor reports (or a retry alarm goes off) and ``ended`` when a job ends.
Timeouts themselves are kept by the executors (redun.executors.timeouts); here a
malformed ``timeout`` fails the job before it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redun.executors.timeouts import task_timeout
from redun.scheduler.errors import SchedulerError, attach_traceback
from redun.scheduler.limits import LimitGate, parse_limits_config
from redun.scheduler.retries import RETRY, Retrier, task_retries

if TYPE_CHECKING:
    from redun.scheduler.core import Scheduler
    from redun.scheduler.job import Job
    from redun.task import Task


class JobGuards:
    """The run's limit gate and retrier, and a check of each task's options (once)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.limits = LimitGate(parse_limits_config(scheduler.config.sections.get("limits", {})))
        self.retrier = Retrier(scheduler)
        self._checked: dict[int, Task] = {}

    def admit(self, job: Job) -> bool:
        """Whether ``job`` goes to its executor now; if it must wait for a limit, the
        scheduler's ``_submit`` is called again when it may. Raises SchedulerError for
        malformed limits, retries or timeout options."""
        task = job.task
        if self._checked.get(id(task)) is not task:
            self._check(task)
        return self.limits.admit(job, self.scheduler._submit)

    def on_report(self, job: Job, result: Any, error: BaseException | None, traceback: Any) -> bool:
        """The executor reported on ``job`` (or its retry is due): True if it is handled here."""
        self.limits.release(job)
        if result is RETRY:
            if self.retrier.due(job):
                self.scheduler._submit(job)
            return True
        if error is None:
            return False
        attach_traceback(error, traceback)
        return self.retrier.retry(job, error)

    def execution_failing(self) -> None:
        """The execution has failed: retries still waiting will not run."""
        self.retrier.stop_waiting()

    def ended(self, job: Job) -> None:
        """``job`` ended (finished, failed or cancelled): it holds and awaits nothing more."""
        self.limits.release(job)
        self.retrier.forget(job)

    def _check(self, task: Task) -> None:
        self.limits.needs(task)
        task_retries(task)
        self.retrier.check(task)
        try:
            task_timeout(task)
        except ValueError as error:
            raise SchedulerError(str(error)) from None
        self._checked[id(task)] = task
