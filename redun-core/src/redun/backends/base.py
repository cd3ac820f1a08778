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
from typing import Any


class BackendError(Exception):
    """The record cannot be opened or written; the message says what to do."""


# A time in a record: an aware datetime, or (cheaper to make, millions of times a run)
# whole microseconds since 1970 in UTC, as ``now_micros`` gives.
Time = dt.datetime | int


def now_micros() -> int:
    """The current time as whole microseconds since 1970 (UTC)."""
    return time.time_ns() // 1000


class Record:
    """A plain record: slots, positional or keyword construction, field-wise ``==`` and repr.

    Written out instead of dataclasses: the scheduler imports these on every start, and
    nine dataclasses took longer to define (about 5 ms) than the rest of this module.
    """

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  (mutable, like a dataclass)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class ValueRecord(Record):
    """A value to store in the ``value`` table (``data`` is its serialization, if known)."""

    __slots__ = ("value_hash", "value", "data")

    def __init__(self, value_hash: str, value: Any, data: bytes | None = None) -> None:
        self.value_hash = value_hash
        self.value = value
        self.data = data


class ArgumentRecord(Record):
    """One argument of a call: positional (``position``) or keyword (``key``)."""

    __slots__ = ("arg_hash", "value", "position", "key", "upstream_call_hashes")

    def __init__(
        self,
        arg_hash: str,
        value: ValueRecord,
        position: int | None = None,
        key: str | None = None,
        upstream_call_hashes: list[str] | None = None,
    ) -> None:
        self.arg_hash = arg_hash
        self.value = value
        self.position = position
        self.key = key
        self.upstream_call_hashes = upstream_call_hashes if upstream_call_hashes else []


class CallRecord(Record):
    """A finished call: one call node with its arguments, result, children and subtree tasks.

    ``arguments`` may be a function giving them: a reused call's arguments (``reused``:
    a call reused from the cache, which the record most likely has already) are built
    only if the record turns out not to hold the call.
    """

    __slots__ = (
        "call_hash", "task_name", "task_hash", "args_hash", "result", "arguments",
        "child_call_hashes", "subtree_task_hashes", "timestamp", "reused",
    )  # fmt: skip

    def __init__(
        self,
        call_hash: str,
        task_name: str,  # full name
        task_hash: str,
        args_hash: str,
        result: ValueRecord,
        arguments: list[ArgumentRecord] | Callable[[], list[ArgumentRecord]],
        child_call_hashes: list[str],
        subtree_task_hashes: AbstractSet[str],  # (a set or a frozenset)
        timestamp: Time,
        reused: bool = False,
    ) -> None:
        self.call_hash = call_hash
        self.task_name = task_name
        self.task_hash = task_hash
        self.args_hash = args_hash
        self.result = result
        self.arguments = arguments
        self.child_call_hashes = child_call_hashes
        self.subtree_task_hashes = subtree_task_hashes
        self.timestamp = timestamp
        self.reused = reused

    def argument_records(self) -> list[ArgumentRecord]:
        arguments = self.arguments
        return arguments if isinstance(arguments, list) else arguments()


class JobStart(Record):
    """A job's row; a job that starts and ends at once (a cache hit) carries its end too.

    With ``may_wait``, the row may wait (briefly) for the job's end, to be written once
    instead of twice.
    """

    __slots__ = (
        "id", "execution_id", "parent_id", "task_hash", "start_time", "end_time", "call_hash",
        "cached", "may_wait",
    )  # fmt: skip

    def __init__(
        self,
        id: str,
        execution_id: str,
        parent_id: str | None,
        task_hash: str,
        start_time: Time,
        end_time: Time | None = None,
        call_hash: str | None = None,
        cached: bool = False,
        may_wait: bool = False,
    ) -> None:
        self.id = id
        self.execution_id = execution_id
        self.parent_id = parent_id
        self.task_hash = task_hash
        self.start_time = start_time
        self.end_time = end_time
        self.call_hash = call_hash
        self.cached = cached
        self.may_wait = may_wait


class JobEnd(Record):
    """The end of a job whose row was written when it started."""

    __slots__ = ("id", "end_time", "call_hash", "cached")

    def __init__(self, id: str, end_time: Time, call_hash: str | None, cached: bool) -> None:
        self.id = id
        self.end_time = end_time
        self.call_hash = call_hash
        self.cached = cached


class ExecutionRecord(Record):
    """An execution's row and tags. The root job's row (``root_job``) travels with it: the
    job and execution rows refer to each other, so on PostgreSQL they must be inserted in
    one transaction."""

    __slots__ = ("id", "args", "job_id", "updated_time", "tags", "root_job")

    def __init__(
        self,
        id: str,
        args: str,  # JSON list of the command line
        job_id: str,
        updated_time: Time,
        tags: dict[str, Any] | None = None,
        root_job: JobStart | None = None,
    ) -> None:
        self.id = id
        self.args = args
        self.job_id = job_id
        self.updated_time = updated_time
        self.tags = tags if tags is not None else {}
        self.root_job = root_job


class TagRecord(Record):
    """Tags on one entity: ``entity_type`` is Execution, Job, Task, Value or CallNode; a
    tagged ``value`` is stored along with its tags."""

    __slots__ = ("entity_type", "entity_id", "tags", "value")

    def __init__(
        self,
        entity_type: str,
        entity_id: str,
        tags: list[tuple[str, Any]],
        value: ValueRecord | None = None,
    ) -> None:
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.tags = tags
        self.value = value


class HandleRecord(Record):
    """A handle state (``handle`` table) reached from each of ``parents`` (``handle_edge``)."""

    __slots__ = ("handle", "parents")

    def __init__(self, handle: Any, parents: list[Any] | None = None) -> None:
        self.handle = handle
        self.parents = parents if parents is not None else []


class CachedCall(Record):
    """A reusable call found by a shallow cache lookup."""

    __slots__ = ("call_hash", "value_hash", "value", "subtree_task_hashes")

    def __init__(
        self, call_hash: str, value_hash: str, value: Any, subtree_task_hashes: set[str]
    ) -> None:
        self.call_hash = call_hash
        self.value_hash = value_hash
        self.value = value
        self.subtree_task_hashes = subtree_task_hashes


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
    def get_evaluations(self, eval_hashes: list[str]) -> dict[str, tuple[str, Any, str | None]]:
        """Map each eval_hash found to (value_hash, value, leaf_call); unreadable values are
        left out. ``leaf_call`` is the hash of the call node a job reusing the evaluation
        has if the value is its final result (a call without children), when the record
        holds that call node already; else None."""

    @abc.abstractmethod
    def find_cached_call(self, task_hash: str, args_hash: str) -> CachedCall | None:
        """The newest non-error call node for this task and arguments (shallow caching)."""

    @abc.abstractmethod
    def get_valid_handles(self, handle_hashes: list[str]) -> set[str]:
        """The hashes among ``handle_hashes`` of handle states recorded as still valid."""
