"""The built-in executor: a pool of threads (default) or of processes."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from redun.executors.base import Executor, ExecutorError, exec_task

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler

DEFAULT_MAX_WORKERS = 20


class LocalExecutor(Executor):
    """Runs jobs on this machine: ``mode = thread`` (default) or ``mode = process``."""

    def __init__(
        self, name: str, scheduler: Scheduler | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(name, scheduler, config)
        self.mode = str(self.config.get("mode", "thread"))
        if self.mode not in ("thread", "process"):
            raise ExecutorError(
                f"executor {name}: unknown mode {self.mode!r}; use mode = thread or mode = process"
            )
        try:
            self.max_workers = int(self.config.get("max_workers", DEFAULT_MAX_WORKERS))
        except ValueError:
            raise ExecutorError(f"executor {name}: max_workers must be a whole number") from None
        self.start_method = str(self.config.get("start_method", "spawn"))
        self._pool: ThreadPoolExecutor | ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is not None:
            return
        if self.mode == "thread":
            self._pool = ThreadPoolExecutor(
                self.max_workers, thread_name_prefix=f"redun-{self.name}"
            )
        else:
            context = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(self.max_workers, mp_context=context)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, job: Job) -> None:
        if self._pool is None:
            self.start()
        assert self._pool is not None and self.scheduler is not None
        if self.mode == "thread":
            self._pool.submit(self._run_in_thread, job)
            return
        try:
            future = self._pool.submit(exec_task, job.task, job.args, job.kwargs)
        except Exception as error:  # e.g. arguments that cannot be pickled
            self.scheduler.reject_job(job, error, traceback.format_exc())
            return
        future.add_done_callback(lambda done: self._report(job, done))

    def _run_in_thread(self, job: Job) -> None:
        scheduler = self.scheduler
        assert scheduler is not None
        try:
            result = exec_task(job.task, job.args, job.kwargs)
        except BaseException as error:
            scheduler.reject_job(job, error, None)
        else:
            scheduler.done_job(job, result)

    def _report(self, job: Job, future: Future) -> None:
        scheduler = self.scheduler
        assert scheduler is not None
        error = future.exception()
        if error is None:
            scheduler.done_job(job, future.result())
        else:
            cause = getattr(error, "__cause__", None)
            scheduler.reject_job(job, error, str(cause) if cause is not None else None)
