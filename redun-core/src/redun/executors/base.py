"""The executor interface: the scheduler hands over jobs, the executor reports back.

An executor runs ``exec_task(job.task, job.args, job.kwargs)`` somewhere and
calls ``scheduler.done_job(job, result)`` or ``scheduler.reject_job(job,
error, traceback)``; both are safe to call from any thread.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler


class ExecutorError(Exception):
    """An executor is misconfigured or cannot run a job."""


class Executor(abc.ABC):
    """Base class for executors: subclass it and register it with ``register_executors``."""

    def __init__(
        self, name: str, scheduler: Scheduler | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        self.name = name
        self.scheduler = scheduler
        self.config: dict[str, Any] = dict(config or {})

    def set_scheduler(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    @abc.abstractmethod
    def submit(self, job: Job) -> None:
        """Start running ``job``; report back through the scheduler, never block for long."""

    def start(self) -> None:  # noqa: B027 (optional hook)
        """Acquire resources (pools, clients) before the first job."""

    def stop(self) -> None:  # noqa: B027 (optional hook)
        """Release resources; jobs already submitted may be abandoned."""


def prehash_result(job: Job, result: Any) -> None:
    """Hash (and pickle) a result in the executor's thread, so the scheduler need not.

    Results holding expressions, or that cannot be pickled, are left to the scheduler.
    """
    from redun.expression import has_expression
    from redun.values import hash_and_serialize

    if has_expression(result):
        return
    try:
        job.result_hash, job.result_data = hash_and_serialize(result)
    except Exception:  # the scheduler reports an unpicklable result with context
        job.result_hash = job.result_data = None


def exec_task(task: Any, args: tuple, kwargs: dict) -> Any:
    """Run a task's body with concrete arguments (script tasks run their script).

    On a process's main thread, a task's ``timeout`` interrupts the body.
    """
    if task.get_option("timeout") is not None:
        from redun.executors.timeouts import run_with_time_limit

        return run_with_time_limit(task, lambda: _exec_body(task, args, kwargs))
    return _exec_body(task, args, kwargs)


def _exec_body(task: Any, args: tuple, kwargs: dict) -> Any:
    result = task.func(*args, **kwargs)
    if task.get_option("script"):
        from redun.scripting import run_script

        return run_script(result, who=f"task {task.fullname}")
    return result
