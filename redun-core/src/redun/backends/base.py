"""The contract between the scheduler and the call-graph record.

The scheduler hands the backend plain records; the backend writes them in
batches off the scheduler's thread (``record_*`` never waits for a commit) and
answers cache queries. ``flush()`` waits until everything handed over so far is
committed.
"""

from __future__ import annotations

import abc
import datetime as dt
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any


class BackendError(Exception):
    """The record cannot be opened or written; the message says what to do."""


# A time in a record: an aware datetime, or (cheaper to make, millions of times a run)
# whole microseconds since 1970 in UTC, as ``now_micros`` gives.
Time = dt.datetime | int


def now_micros() -> int:
    """The current time as whole microseconds since 1970 (UTC)."""
    return time.time_ns() // 1000


@dataclass(slots=True)
class ValueRecord:
    """A value to store in the ``value`` table (``data`` is its serialization, if known)."""

    value_hash: str
    value: Any
    data: bytes | None = None


@dataclass(slots=True)
class ArgumentRecord:
    """One argument of a call: positional (``position``) or keyword (``key``)."""

    arg_hash: str
    value: ValueRecord
    position: int | None = None
    key: str | None = None
    upstream_call_hashes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CallRecord:
    """A finished call: one call node with its arguments, result, children and subtree tasks."""

    call_hash: str
    task_name: str  # full name
    task_hash: str
    args_hash: str
    result: ValueRecord
    # The arguments, or a function giving them: a reused call's arguments are built only
    # if the record turns out not to hold the call already.
    arguments: list[ArgumentRecord] | Callable[[], list[ArgumentRecord]]
    child_call_hashes: list[str]
    subtree_task_hashes: AbstractSet[str]  # (a set or a frozenset)
    timestamp: Time
    # True for a call reused from the cache: the record most likely has it already.
    reused: bool = False

    def argument_records(self) -> list[ArgumentRecord]:
        arguments = self.arguments
        return arguments if isinstance(arguments, list) else arguments()


@dataclass(slots=True)
class JobStart:
    """A job's row; a job that starts and ends at once (a cache hit) carries its end too."""

    id: str
    execution_id: str
    parent_id: str | None
    task_hash: str
    start_time: Time
    end_time: Time | None = None
    call_hash: str | None = None
    cached: bool = False
    # The row may wait (briefly) for the job's end, to be written once instead of twice.
    may_wait: bool = False


@dataclass(slots=True)
class JobEnd:
    id: str
    end_time: Time
    call_hash: str | None
    cached: bool


@dataclass(slots=True)
class ExecutionRecord:
    id: str
    args: str  # JSON list of the command line
    job_id: str
    updated_time: dt.datetime
    tags: dict[str, Any] = field(default_factory=dict)
    # The root job's row. The job and execution rows refer to each other, so on
    # PostgreSQL they must be inserted in one transaction: they travel together.
    root_job: JobStart | None = None


@dataclass(slots=True)
class TagRecord:
    """Tags on one entity: ``entity_type`` is Execution, Job, Task, Value or CallNode."""

    entity_type: str
    entity_id: str
    tags: list[tuple[str, Any]]
    value: ValueRecord | None = None  # a tagged value, stored along with its tags


@dataclass(slots=True)
class HandleRecord:
    """A handle state (``handle`` table) reached from each of ``parents`` (``handle_edge``)."""

    handle: Any
    parents: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class CachedCall:
    """A reusable call found by a shallow cache lookup."""

    call_hash: str
    value_hash: str
    value: Any
    subtree_task_hashes: set[str]


class Backend(abc.ABC):
    """Where the scheduler records call graphs and finds cached results."""

    @abc.abstractmethod
    def load(self) -> None:
        """Open the record, creating or checking its schema. Raises BackendError."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and release connections."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Block until every record handed over so far is committed. Raises BackendError."""

    # Writes: queued, never wait for a commit --------------------------------------
    @abc.abstractmethod
    def record_task(self, task: Any) -> None:
        """Store a task definition (``task`` row and its ``redun.Task`` value), once."""

    @abc.abstractmethod
    def record_execution(self, execution: ExecutionRecord) -> None: ...

    @abc.abstractmethod
    def record_job_start(self, job: JobStart) -> None: ...

    @abc.abstractmethod
    def record_job_end(self, job: JobEnd) -> None: ...

    @abc.abstractmethod
    def record_call(self, call: CallRecord) -> None: ...

    @abc.abstractmethod
    def record_tags(self, tags: TagRecord) -> None:
        """Store tags; raises BackendError for a value that cannot be stored as JSON."""

    @abc.abstractmethod
    def record_handle(self, record: HandleRecord) -> None:
        """Store a handle state as valid, with the edges from the states it follows."""

    @abc.abstractmethod
    def record_evaluation(
        self, eval_hash: str, task_hash: str, args_hash: str, result: ValueRecord
    ) -> None:
        """Remember a task's immediate result (a value or an expression) for ``eval_hash``."""

    # Reads: cache lookups ---------------------------------------------------------
    def prefetch_evaluations(self, eval_hashes: list[str]) -> None:
        """A hint: :meth:`get_evaluations` will soon be asked for ``eval_hashes`` (a
        backend may start the lookup meanwhile). Does nothing by default."""
        return None

    @abc.abstractmethod
    def get_evaluations(self, eval_hashes: list[str]) -> dict[str, tuple[str, Any]]:
        """Map each eval_hash found to (value_hash, value); unreadable values are left out."""

    @abc.abstractmethod
    def find_cached_call(self, task_hash: str, args_hash: str) -> CachedCall | None:
        """The newest non-error call node for this task and arguments (shallow caching)."""

    @abc.abstractmethod
    def get_valid_handles(self, handle_hashes: list[str]) -> set[str]:
        """The hashes among ``handle_hashes`` of handle states recorded as still valid."""
