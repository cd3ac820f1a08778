"""Timeouts: ``@task(timeout=seconds)`` fails a job whose body runs longer.

The clock starts when the body starts. A thread cannot be stopped, so on a worker
thread a ``Deadline`` fails the job when the time is up and drops the body's late
report (the thread runs on until the body returns). On a process's main thread (a
process-pool worker, ``redun oneshot``) the timeout interrupts the body itself with
SIGALRM (``run_with_time_limit``), which frees the worker; a body that swallows
the interruption still fails.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler
    from redun.task import Task

CAN_INTERRUPT = hasattr(signal, "setitimer")
T = TypeVar("T")


class JobTimeoutError(TimeoutError):
    """A job ran longer than its task's ``timeout`` option allows."""


def task_timeout(task: Task) -> float | None:
    """The task's ``timeout`` in seconds, or None; a malformed value raises ValueError."""
    value = task.get_option("timeout")
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds > 0:
        raise ValueError(f"task {task.fullname} has timeout={value!r}; use a number of seconds > 0")
    return seconds


def timeout_error(task: Task, seconds: float) -> JobTimeoutError:
    return JobTimeoutError(f"task {task.fullname} ran longer than its timeout of {seconds:g} s")


class Deadline:
    """Reports ``job`` failed at its deadline unless its body reports first (never both)."""

    def __init__(self, scheduler: Scheduler, job: Job, seconds: float) -> None:
        self._scheduler = scheduler
        self._job = job
        self._seconds = seconds
        self._lock = threading.Lock()
        self._open = True
        from redun.scheduler.timer import timer  # (not at import: redun.scheduler imports us)

        self._alarm = timer.call_later(seconds, self._expire)

    def stop(self) -> bool:
        """The body is over: True if it may report, False if the deadline failed the job."""
        with self._lock:
            was_open, self._open = self._open, False
        self._alarm.cancel()
        return was_open

    def _expire(self) -> None:
        with self._lock:
            if not self._open:
                return
            self._open = False
        self._scheduler.reject_job(self._job, timeout_error(self._job.task, self._seconds), None)


def start_deadline(scheduler: Scheduler, job: Job) -> Deadline | None:
    """A Deadline for a job starting on a worker thread, or None if its task has no timeout.

    A malformed timeout gets None here: the body then fails with the ValueError saying why.
    """
    try:
        seconds = task_timeout(job.task)
    except ValueError:
        return None
    return None if seconds is None else Deadline(scheduler, job, seconds)


class _Interrupted(BaseException):
    """Raised inside the body by SIGALRM; not an Exception, so ``except Exception`` misses it."""


def run_with_time_limit(task: Task, body: Callable[[], T]) -> T:
    """``body()``, interrupted at ``task``'s timeout if this is a process's main thread.

    Elsewhere (a worker thread) it runs unlimited here: the executor's Deadline fails it.
    """
    seconds = task_timeout(task)
    if (
        seconds is None
        or not CAN_INTERRUPT
        or threading.current_thread() is not threading.main_thread()
    ):
        return body()
    state = {"armed": True, "fired": False}

    def interrupt(signum: int, frame: Any) -> None:
        if state["armed"]:
            state["fired"] = True
            raise _Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    began = time.monotonic()
    outer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            result = body()
        finally:
            state["armed"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer[0] > 0:  # someone else's timer was running: let it go on
                left = outer[0] - (time.monotonic() - began)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
    except _Interrupted as interrupted:
        # Keep the body's frames: they show where it was when the time ran out.
        raise timeout_error(task, seconds).with_traceback(interrupted.__traceback__) from None
    if state["fired"]:  # the body caught the interruption and returned anyway
        raise timeout_error(task, seconds)
    return result
