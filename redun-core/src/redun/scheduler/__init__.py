"""The scheduler: evaluates expressions, consults the cache, runs jobs, records calls."""

from redun.scheduler.core import (
    Scheduler,
    get_current_scheduler,
    run,
    set_current_scheduler,
)
from redun.scheduler.errors import ErrorValue, JobCancelledError, SchedulerError, Traceback
from redun.scheduler.job import Job, JobInfo

__all__ = [
    "ErrorValue",
    "Job",
    "JobInfo",
    "JobCancelledError",
    "Scheduler",
    "SchedulerError",
    "Traceback",
    "get_current_scheduler",
    "run",
    "set_current_scheduler",
]
