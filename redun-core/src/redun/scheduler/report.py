"""How the scheduler reports progress: log lines and the job status table."""

from __future__ import annotations

import inspect
import logging
from collections import Counter, defaultdict
from typing import Any

from redun.scheduler.job import CACHED, DONE, FAILED, Job

logger = logging.getLogger("redun")

_MAX_ARG_REPR = 200


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_ARG_REPR else text[: _MAX_ARG_REPR - 3] + "..."


def format_call(job: Job) -> str:
    """``namespace.task(name=value, ...)`` with arguments bound to parameter names."""
    args, kwargs = job.args, job.kwargs
    try:
        bound = inspect.signature(job.task.func).bind(*args, **kwargs)
        bound.apply_defaults()
        parts = [f"{name}={_short_repr(value)}" for name, value in bound.arguments.items()]
    except (TypeError, ValueError):
        parts = [_short_repr(a) for a in args] + [
            f"{k}={_short_repr(v)}" for k, v in kwargs.items()
        ]
    return f"{job.task.fullname}({', '.join(parts)})"


class Reporter:
    """Counts job outcomes per task and writes the log lines for each job."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.verbose = logger.isEnabledFor(logging.INFO)

    def run(self, job: Job, executor_name: str) -> None:
        if self.verbose:
            logger.info("Run    Job %s:  %s on %s", job.id[:8], format_call(job), executor_name)

    def cached(self, job: Job) -> None:
        if self.verbose:
            logger.info(
                "Cached Job %s:  %s (eval_hash=%s)", job.id[:8], format_call(job), job.eval_hash[:8]
            )

    def invalid(self, job: Job, value: Any) -> None:
        """A cached result exists but is no longer valid (a File changed): the job runs."""
        if self.verbose:
            logger.info(
                "Miss   Job %s:  Cached result is no longer valid (result=%s, eval_hash=%s).",
                job.id[:8],
                _short_repr(value),
                job.eval_hash[:8],
            )

    def dryrun(self, job: Job) -> None:
        logger.info("Dryrun Job %s:  %s would run", job.id[:8], format_call(job))

    def finished(self, job: Job) -> None:
        self.counts[job.task.fullname][job.status] += 1

    def failed(self, job: Job, error: BaseException) -> None:
        self.counts[job.task.fullname][FAILED] += 1
        logger.error("*** Reject Job %s:  %s: %r", job.id[:8], format_call(job), error)

    def summary_lines(self) -> list[str]:
        """The job status table printed at the end of a run."""
        header = f"{'TASK':<30} {'FAILED':>8} {'CACHED':>8} {'DONE':>8} {'TOTAL':>8}"
        total: Counter = Counter()
        rows = []
        for name in sorted(self.counts):
            c = self.counts[name]
            total.update(c)
            rows.append(
                f"{name:<30} {c[FAILED]:>8} {c[CACHED]:>8} {c[DONE]:>8} "
                f"{c[FAILED] + c[CACHED] + c[DONE]:>8}"
            )
        all_row = (
            f"{'ALL':<30} {total[FAILED]:>8} {total[CACHED]:>8} {total[DONE]:>8} "
            f"{total[FAILED] + total[CACHED] + total[DONE]:>8}"
        )
        return ["| JOB STATUS", f"| {header}", f"| {all_row}", *(f"| {row}" for row in rows)]
