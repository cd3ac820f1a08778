"""An executor that runs each job at once, in the thread that submits it."""

from __future__ import annotations

import traceback
from typing import Any

from redun.executors.base import Executor, exec_task


class InlineExecutor(Executor):
    """Runs a job's task synchronously inside ``submit`` (no threads, no processes)."""

    def __init__(self, name: str, scheduler: Any = None, config: Any = None) -> None:
        super().__init__(name, scheduler=scheduler, config=config)
        self.jobs_run = 0

    def submit(self, job: Any) -> None:
        assert self.scheduler is not None, "InlineExecutor needs a scheduler"
        self.jobs_run += 1
        try:
            result = exec_task(job.task, job.args, job.kwargs)
        except Exception as error:
            self.scheduler.reject_job(job, error, traceback.format_exc())
        else:
            self.scheduler.done_job(job, result)
