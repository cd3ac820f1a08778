"""A base for executors that run each job elsewhere through ``redun oneshot``.

The base writes a job's input to scratch, builds the ``oneshot`` command line and hands
it to the subclass's :meth:`RemoteExecutor.launch`; the subclass starts the command (a
container, a cluster job, ...) and calls the command's ``on_exit`` when it has ended,
from a thread of its own. The base then reads the output or the error from scratch and
reports the job to the scheduler. No polling: completion is always reported.
"""

from __future__ import annotations

import abc
import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redun.executors.base import Executor, ExecutorError, prehash_result
from redun.executors.remote import scratch
from redun.executors.remote.code import (
    DEFAULT_EXCLUDES,
    DEFAULT_INCLUDES,
    package_code,
    upload_code,
)

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler

LABEL_PREFIX = "redun."


@dataclass
class RemoteCommand:
    """One command for a subclass to run remotely.

    ``key`` names it uniquely among this executor's commands (a job's eval_hash, or
    ``launch-...``); ``labels`` identify it for reattaching; the subclass calls
    ``on_exit(status, logs)`` once when the command has ended (``status`` None when it
    is unknown, ``logs`` the end of its output or "").
    """

    key: str
    command: list[str]
    labels: dict[str, str]
    on_exit: Callable[[int | None, str], None]
    env: dict[str, str] = field(default_factory=dict)


def _words(value: Any) -> list[str]:
    """A list option from redun.ini (whitespace- or comma-separated) or from Python."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [str(item) for item in value]


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class RemoteExecutor(Executor):
    """Base of executors whose jobs run ``python -m redun oneshot`` elsewhere.

    Options (``[executors.NAME]``): ``scratch`` (required: a path or URL both sides
    can reach), ``code_package`` (default true: ship the workflow's code as a tar.gz),
    ``code_includes`` / ``code_excludes`` (globs relative to the working directory; the
    excludes add to ``.git``, ``.redun``, ``__pycache__`` and virtualenvs, always left out),
    ``python`` (the interpreter on the remote side, default ``python3``).
    Subclasses implement :meth:`launch` and, to abandon jobs, :meth:`stop`.
    """

    def __init__(
        self, name: str, scheduler: Scheduler | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(name, scheduler, config)
        scratch_dir = self.config.get("scratch")
        if not scratch_dir:
            raise ExecutorError(
                f"executor {name}: no scratch; add scratch = PATH_OR_URL to [executors.{name}]"
            )
        self.scratch = str(scratch_dir)
        self.use_code_package = _flag(self.config.get("code_package"), True)
        self.code_includes = _words(self.config.get("code_includes")) or list(DEFAULT_INCLUDES)
        self.code_excludes = [*DEFAULT_EXCLUDES, *_words(self.config.get("code_excludes"))]
        self.python = str(self.config.get("python", "python3"))
        self._code_url: str | None = None
        self._code_lock = threading.Lock()

    # What a subclass provides ----------------------------------------------------------
    @abc.abstractmethod
    def launch(self, command: RemoteCommand) -> None:
        """Start ``command`` (or reattach to it if it is already running) and return at once;
        call ``command.on_exit`` when it ends."""

    def job_labels(self, job: Job) -> dict[str, str]:
        """Labels that identify a job's remote command."""
        return {
            f"{LABEL_PREFIX}executor": self.name,
            f"{LABEL_PREFIX}eval_hash": job.eval_hash,
            f"{LABEL_PREFIX}job_id": job.id,
            f"{LABEL_PREFIX}task": job.task.fullname,
            f"{LABEL_PREFIX}execution_id": job.execution_id,
        }

    # Code ---------------------------------------------------------------------------------
    def code_url(self) -> str | None:
        """The uploaded code package of this process's working directory (built once)."""
        if not self.use_code_package:
            return None
        with self._code_lock:
            if self._code_url is None:
                package = package_code(os.getcwd(), self.code_includes, self.code_excludes)
                self._code_url = upload_code(package, self.scratch)
            return self._code_url

    # Jobs ---------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        assert self.scheduler is not None, f"executor {self.name} has no scheduler"
        try:
            command = self.oneshot_command(job)
            self.launch(
                RemoteCommand(
                    key=job.eval_hash,
                    command=command,
                    labels=self.job_labels(job),
                    on_exit=lambda status, logs: self._job_exited(job, status, logs),
                )
            )
        except ExecutorError as error:  # a clear message: the engine's frames would only hide it
            self.scheduler.reject_job(job, error.with_traceback(None), None)
        except Exception as error:
            self.scheduler.reject_job(job, error, traceback.format_exc())

    def oneshot_command(self, job: Job) -> list[str]:
        """Write ``job``'s input to scratch and return its ``redun oneshot`` command line."""
        paths = scratch.job_paths(self.scratch, job.eval_hash)
        scratch.remove(paths.error)  # from an earlier failed attempt
        overrides = dict(job.task._overrides) if job.task._overrides else {}
        scratch.write_pickle(paths.input, (job.args, job.kwargs, overrides))
        code = self.code_url()
        command = [self.python, "-m", "redun", "oneshot", task_script(job, code is not None)]
        command.append(job.task.fullname)
        if code is not None:
            command += ["--code", code]
        command += ["--input", paths.input, "--output", paths.output, "--error", paths.error]
        return command

    def _job_exited(self, job: Job, status: int | None, logs: str) -> None:
        """The job's command ended: report its output or its error to the scheduler."""
        scheduler = self.scheduler
        assert scheduler is not None
        paths = scratch.job_paths(self.scratch, job.eval_hash)
        try:
            if scratch.exists(paths.output):
                result = scratch.read_pickle(paths.output)
                prehash_result(job, result)
                scheduler.done_job(job, result)
                return
            if scratch.exists(paths.error):
                error, error_traceback = scratch.read_pickle(paths.error)
                scheduler.reject_job(job, error, error_traceback)
                return
        except Exception as error:
            scheduler.reject_job(job, error, traceback.format_exc())
            return
        how = "ended" if status is None else f"exited with status {status}"
        message = (
            f"executor {self.name}: the job of task {job.task.fullname} {how} "
            f"without writing {paths.output} or {paths.error}"
        )
        if logs.strip():
            message += "; its output ends with:\n" + logs.rstrip()
        scheduler.reject_job(job, ExecutorError(message), None)


def task_script(job: Job, packaged: bool) -> str:
    """What ``oneshot`` imports to define ``job``'s task.

    A module inside a package is named (``pkg.mod``: importable from site-packages or
    from the code package's root); a lone ``.py`` file (``redun run workflow.py``) is
    given by path, relative to the working directory when it is in the code package.
    """
    module_name = getattr(job.task.func, "__module__", "") or ""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if "." in module_name or not path or getattr(module, "__path__", None) is not None:
        return module_name
    path = os.path.abspath(path)
    if packaged:
        rel = os.path.relpath(path, os.getcwd())
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return path
