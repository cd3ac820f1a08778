"""The built-in executor: a pool of threads (default) or of processes."""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redun.executors.base import Executor, ExecutorError, exec_task, prehash_result
from redun.executors.timeouts import start_deadline

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from redun.scheduler import Job, Scheduler

DEFAULT_MAX_WORKERS = 20
_STOP = object()


class _ThreadPool:
    """Worker threads fed by one queue: cheaper per job than futures, which a job never needs."""

    def __init__(self, size: int, name: str) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._size = size
        self._name = name
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, func: Any, job: Any) -> None:
        self._jobs.put((func, job))
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                return
            if len(self._threads) >= self._size:
                return
        thread = threading.Thread(
            target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            item = jobs.get()
            if item is _STOP:
                return
            func, job = item
            func(job)
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()
        self._threads.clear()


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
        self._pool: _ThreadPool | ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is not None:
            return
        if self.mode == "thread":
            self._pool = _ThreadPool(self.max_workers, f"redun-{self.name}")
        else:
            import multiprocessing  # (process mode only: slow to import)
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(self.max_workers, mp_context=context)

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if isinstance(pool, _ThreadPool):
            pool.shutdown()
        elif pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Job) -> None:
        if self._pool is None:
            self.start()
        assert self._pool is not None and self.scheduler is not None
        if isinstance(self._pool, _ThreadPool):
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
        deadline = start_deadline(scheduler, job)  # None unless the task has a timeout
        try:
            result = exec_task(job.task, job.args, job.kwargs)
        except BaseException as error:
            if deadline is None or deadline.stop():
                scheduler.reject_job(job, error, None)
        else:
            if deadline is None or deadline.stop():  # else: too late, the job has failed
                prehash_result(job, result)
                scheduler.done_job(job, result)

    def _report(self, job: Job, future: Future) -> None:
        scheduler = self.scheduler
        assert scheduler is not None
        error = future.exception()
        if error is None:
            result = future.result()
            prehash_result(job, result)
            scheduler.done_job(job, result)
        else:
            cause = getattr(error, "__cause__", None)
            scheduler.reject_job(job, error, str(cause) if cause is not None else None)
