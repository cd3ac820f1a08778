"""The scheduler's side of handles: fork them into calls, advance them past calls, record
their lineage (the ``handle`` and ``handle_edge`` tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redun import nested
from redun.backends.base import Backend, HandleRecord
from redun.handle import Handle, handles_in_use

if TYPE_CHECKING:
    from redun.scheduler.job import Job


_ATOMIC_TYPES = frozenset({int, float, str, bytes, bool, type(None)})


def _is_handle(value: Any) -> bool:
    return isinstance(value, Handle)


def _holds_handle(values: Any) -> bool:
    """Whether any of ``values`` is or contains a handle (plain scalars are skipped fast)."""
    for value in values:
        if type(value) not in _ATOMIC_TYPES and nested.contains(value, _is_handle):
            return True
    return False


class HandleTracker:
    """Moves the handles of one execution through its calls and records where they went."""

    def __init__(self, backend: Backend, dryrun: bool) -> None:
        self._backend = backend
        self._dryrun = dryrun
        # Per caller job: how often each handle state has been passed to its calls.
        self._call_orders: dict[str, dict[str, int]] = {}

    def fork_arguments(self, parent: Job | None, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The arguments a call receives: each handle forked for this call.

        The fork's key is the handle's place among the caller's calls that got it
        (1, 2, ...; 0 for a top-level call), unless the handle is already a fork.
        """
        if not handles_in_use() or not (_holds_handle(args) or _holds_handle(kwargs.values())):
            return args, kwargs
        counts = self._call_orders.setdefault(parent.id, {}) if parent is not None else None

        def fork(handle: Handle) -> Handle:
            if counts is None:
                order = 0
            else:
                order = counts[handle.__handle__.hash] = counts.get(handle.__handle__.hash, 0) + 1
            forked = handle.preprocess({"call_order": order})
            self.record(forked, [handle])
            return forked

        new_args = tuple(nested.map_nested(arg, _is_handle, fork) for arg in args)
        new_kwargs = {key: nested.map_nested(v, _is_handle, fork) for key, v in kwargs.items()}
        return new_args, new_kwargs

    def advance_result(self, job: Job, result: Any) -> Any:
        """``result`` with each handle it holds advanced past ``job``'s call.

        Handles inside expressions are left alone: they are advanced by the calls that
        evaluate them.
        """
        if not handles_in_use() or not _holds_handle((result,)):
            return result

        def advance(handle: Handle) -> Handle:
            advanced = handle.postprocess({"pre_call_hash": job.eval_hash})
            self.record(advanced, [handle])
            return advanced

        job.result_hash = job.result_data = None  # an executor's hash is of the old handles
        return nested.map_nested(result, _is_handle, advance)

    def record(self, handle: Handle, parents: list[Handle]) -> None:
        """Record ``handle`` as a state reached from each of ``parents``.

        Forks made in task code (``handle.fork(key)``) are recorded with the handle they
        came from, once they reach the scheduler.
        """
        if self._dryrun:
            return
        backend = self._backend
        backend.record_handle(HandleRecord(handle, list(parents)))
        pending = [handle, *parents]
        while pending:
            current = pending.pop()
            info = current.__handle__
            origin, info.fork_parent = info.fork_parent, None
            if origin is not None:
                backend.record_handle(HandleRecord(current, [origin]))
                pending.append(origin)

    def job_ended(self, job: Job) -> None:
        """Forget a finished caller's call counts."""
        self._call_orders.pop(job.id, None)
