"""Resource limits: ``[limits] name = count`` caps the jobs holding each limit at once.

A task asks for limits with ``limits=["db", "gpu"]`` (one unit each) or
``limits={"db": 2}``. A job takes its units just before it is handed to its executor
and gives them back when the executor reports (its body is over; a parent waiting
for its children holds nothing, so nested jobs cannot deadlock). A job that does not
fit waits in a first-come, first-served queue per limit and is started by the release
that makes room: nothing polls. Cached and CSE-reused jobs never reach an executor,
so they never take a limit. As redun 0.44.1, a limit missing from [limits] allows one
job at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from redun.scheduler.errors import SchedulerError
from redun.scheduler.report import logger

if TYPE_CHECKING:
    from redun.scheduler.job import Job
    from redun.task import Task

UNCONFIGURED_LIMIT = 1


def parse_limits_config(section: Mapping[str, Any]) -> dict[str, int]:
    """The ``[limits]`` section as ``{name: count}``; a count must be a whole number >= 0."""
    counts: dict[str, int] = {}
    for name, text in section.items():
        try:
            count = int(str(text).strip())
        except ValueError:
            count = -1
        if count < 0:
            raise SchedulerError(
                f"[limits] {name} = {text!r} is not a count; set it to a whole number >= 0"
            )
        counts[name] = count
    return counts


def task_limits(task: Task) -> dict[str, int]:
    """What one job of ``task`` holds while it runs: ``{limit name: units}``."""
    option = task.get_option("limits")
    if not option:
        return {}
    if isinstance(option, str):
        option = [option]
    if isinstance(option, Mapping):
        pairs = list(option.items())
    elif isinstance(option, (list, tuple, set, frozenset)):
        pairs = [(name, 1) for name in option]
    else:
        pairs = [(option, None)]
    needs: dict[str, int] = {}
    for name, units in pairs:
        if not isinstance(name, str) or not isinstance(units, int) or units < 0:
            raise SchedulerError(
                f"task {task.fullname} has limits={option!r}; use a list of limit names "
                'or a dict of names to counts, e.g. limits=["db"] or limits={"db": 2}'
            )
        if units:
            needs[name] = needs.get(name, 0) + units
    return needs


class _Waiter:
    __slots__ = ("job", "needs", "start")

    def __init__(self, job: Job, needs: dict[str, int], start: Callable[[Job], None]) -> None:
        self.job, self.needs, self.start = job, needs, start


class LimitGate:
    """Admits jobs within the configured limits; queues the rest until a release."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = dict(counts)
        self.used: dict[str, int] = {name: 0 for name in self.counts}
        self._held: dict[str, dict[str, int]] = {}  # job id -> what it holds
        self._queues: dict[str, deque[_Waiter]] = {}
        self._waiting: set[str] = set()
        self._needs_by_task: dict[int, tuple[Task, dict[str, int]]] = {}

    def needs(self, task: Task) -> dict[str, int]:
        """``task_limits(task)``, checked against the configured counts (once per task)."""
        cached = self._needs_by_task.get(id(task))
        if cached is not None and cached[0] is task:
            return cached[1]
        needs = task_limits(task)
        for name, units in needs.items():
            if name not in self.counts:
                logger.warning(
                    "limit %r (task %s) is not configured: allowing %d job(s) at a time; "
                    "set it under [limits] in redun.ini",
                    name,
                    task.fullname,
                    UNCONFIGURED_LIMIT,
                )
                self.counts[name] = UNCONFIGURED_LIMIT
                self.used[name] = 0
            if units > self.counts[name]:
                raise SchedulerError(
                    f"task {task.fullname} asks for {units} of limit {name!r}, but [limits] "
                    f"allows {self.counts[name]}; set `{name} = {units}` (or more) under [limits] "
                    "in redun.ini, or ask for fewer"
                )
        self._needs_by_task[id(task)] = (task, needs)
        return needs

    def admit(self, job: Job, start: Callable[[Job], None]) -> bool:
        """Whether ``job`` may run now (it then holds its limits).

        If not, it waits, and ``start(job)`` is called once a release makes room.
        Raises SchedulerError for a task whose limits can never be met.
        """
        if job.id in self._held:
            return True
        if job.id in self._waiting:
            return False
        needs = self.needs(job.task)
        if not needs:
            return True
        if all(not self._queues.get(name) and self._fits(name, n) for name, n in needs.items()):
            self._take(job, needs)
            return True
        waiter = _Waiter(job, needs, start)
        self._waiting.add(job.id)
        for name in needs:
            self._queues.setdefault(name, deque()).append(waiter)
        return False

    def release(self, job: Job) -> None:
        """``job`` no longer runs: give back its limits and start the waiters that now fit."""
        held = self._held.pop(job.id, None)
        if held is not None:
            for name, units in held.items():
                self.used[name] -= units
        elif job.id in self._waiting:  # cancelled while waiting: leave the queues
            self._waiting.discard(job.id)
            held = {}
            for name, queue in self._queues.items():
                for waiter in [w for w in queue if w.job is job]:
                    queue.remove(waiter)
                    held[name] = 0
        else:
            return
        for waiter in self._pop_ready(list(held)):
            waiter.start(waiter.job)

    def holding(self, name: str) -> int:
        """How many units of limit ``name`` running jobs hold now."""
        return self.used.get(name, 0)

    def _fits(self, name: str, units: int) -> bool:
        return self.used[name] + units <= self.counts[name]

    def _take(self, job: Job, needs: dict[str, int]) -> None:
        for name, units in needs.items():
            self.used[name] += units
        self._held[job.id] = needs

    def _pop_ready(self, names: list[str]) -> list[_Waiter]:
        """Take the limits of every waiter that is first in each of its queues and fits."""
        ready: list[_Waiter] = []
        pending = names
        while pending:
            queue = self._queues.get(pending.pop())
            if not queue:
                continue
            waiter = queue[0]
            if not all(
                self._queues[name][0] is waiter and self._fits(name, units)
                for name, units in waiter.needs.items()
            ):
                continue
            for name in waiter.needs:
                self._queues[name].popleft()
                pending.append(name)  # its queue has a new head, which may fit too
            self._waiting.discard(waiter.job.id)
            self._take(waiter.job, waiter.needs)
            ready.append(waiter)
        return ready
