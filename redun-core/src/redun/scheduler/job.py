"""A Job: one evaluation of a task on concrete arguments, within one execution."""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from redun.backends.base import now_micros
from redun.promise import Promise

if TYPE_CHECKING:
    from redun.expression import TaskExpression
    from redun.task import Task

# Job ids are UUID-shaped: the first 32 bits count up from a random start, the other 96
# are random, drawn once per 2**32 ids (and anew in a forked child). A run's jobs thus get
# distinct 8-character prefixes (the ids the CLI shows) and reach the record's job-id
# indexes in order, as appends instead of random inserts (on SQLite, about half the cost
# of writing a job row). No random draw per job: os.urandom per job costs hundreds of
# microseconds on some virtual machines, and even a fast generator doubles an id's cost.
_sequence = itertools.count()
_end = 0  # where the count must take a new random part
_suffix = ""  # "-xxxx-8xxx-Vxxx-xxxxxxxxxxxx": the random 96 bits, version and variant set


def _reseed() -> None:
    global _sequence, _end, _suffix
    draw = random.SystemRandom()
    start = draw.getrandbits(32)
    _sequence, _end = itertools.count(start), start + 2**32
    bits = draw.getrandbits(96) & _CLEAR | _SET
    text = f"{bits:024x}"
    _suffix = f"-{text[:4]}-{text[4:8]}-{text[8:12]}-{text[12:]}"


# The version (8) and the RFC 4122 variant, set in the random bits.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x8000 << 64) | (0x8000 << 48)


def new_job_id() -> str:
    """A new job id: a UUID (version 8, RFC 9562's custom layout) as a string."""
    count = next(_sequence)
    if count >= _end:
        _reseed()
        count = next(_sequence)
    return f"{count & 0xFFFFFFFF:08x}{_suffix}"


_reseed()
os.register_at_fork(after_in_child=_reseed)  # a forked process must not repeat our ids


# An empty mapping (read-only, shared) for what most jobs never hold or no longer need:
# children, upstream calls, keyword-argument hashes. A million jobs must not each keep
# empty dicts of their own.
EMPTY: Any = MappingProxyType({})

# Status names as redun records and shows them.
PENDING, RUNNING, CACHED, DONE, FAILED = "PENDING", "RUNNING", "CACHED", "DONE", "FAILED"


class Job:
    """The scheduler's state for one task call: its hashes, its place in the job tree."""

    __slots__ = (
        "id",
        "task",
        "expr",
        "parent",
        "execution_id",
        "args",
        "kwargs",
        "arg_hashes",
        "kwarg_hashes",
        "args_hash",
        "eval_hash",
        "promise",
        "children",
        "call_hash",
        "subtree_tasks",
        "cached",
        "status",
        "start_time",
        "upstream",
        "result_hash",
        "result_data",
        "recorded",
        "tags",
    )

    def __init__(
        self,
        task: Task,
        expr: TaskExpression,
        parent: Job | None,
        execution_id: str,
        args: tuple,
        kwargs: dict,
    ) -> None:
        self.id = new_job_id()
        self.task = task
        self.expr = expr
        self.parent = parent
        self.execution_id = execution_id
        self.args = args
        self.kwargs = kwargs
        self.arg_hashes: Sequence[str] = ()
        self.kwarg_hashes: dict[str, str] = EMPTY
        self.args_hash = ""
        self.eval_hash = ""
        self.promise = Promise()
        self.children: dict[str, Job] = EMPTY  # a dict of its own once it has a child
        self.call_hash: str | None = None
        self.subtree_tasks: frozenset[str] = frozenset()
        self.cached = False
        self.status = PENDING
        self.start_time = now_micros()  # (microseconds since 1970, UTC)
        self.upstream: dict[int | str, Job] = EMPTY
        # Set by executors that hash the result where it was made (off the scheduler's thread).
        self.result_hash: str | None = None
        self.result_data: bytes | None = None
        self.recorded = False  # whether the record has this job's row yet
        self.tags: Any = None  # redun.tags.JobTags, once apply_tags tags something

    @property
    def task_name(self) -> str:
        return self.task.fullname

    def __repr__(self) -> str:
        return f"Job(id={self.id[:8]}, task={self.task.fullname}, status={self.status})"


class JobInfo:
    """What a running job knows about itself.

    Give a task the parameter ``job_info: JobInfo = JobInfo()``: the placeholder
    is hashed (so it never changes a call's hash), and the task receives this
    job's ids and options instead.
    """

    def __init__(
        self,
        execution_id: str = "",
        job_id: str = "",
        eval_hash: str = "",
        args_hash: str = "",
        options: dict | None = None,
    ) -> None:
        # Attribute order as redun 0.4x, so the placeholder pickles (and hashes) the same.
        self.execution_id = execution_id
        self.job_id = job_id
        self.eval_hash = eval_hash
        self.args_hash = args_hash
        self.options = options if options is not None else {}

    @classmethod
    def from_job(cls, job: Job) -> JobInfo:
        options = {**job.task.task_options, **job.task._overrides}
        return cls(job.execution_id, job.id, job.eval_hash, job.args_hash, options)

    def __repr__(self) -> str:
        return f"JobInfo(job_id={self.job_id!r}, eval_hash={self.eval_hash[:8]!r})"


JobInfo.__module__ = "redun.scheduler"  # where redun 0.4x pickles refer to it


def fill_job_info(job: Job) -> bool:
    """Give ``job`` a filled-in JobInfo wherever its arguments hold the placeholder.

    Returns whether it did: such a job knows its own ids and may pass them on.
    """
    args, kwargs = job.args, job.kwargs
    filled = False
    if any(type(arg) is JobInfo for arg in args):
        job.args = tuple(JobInfo.from_job(job) if type(a) is JobInfo else a for a in args)
        filled = True
    if kwargs and any(type(arg) is JobInfo for arg in kwargs.values()):
        job.kwargs = {
            key: JobInfo.from_job(job) if type(value) is JobInfo else value
            for key, value in kwargs.items()
        }
        filled = True
    return filled
