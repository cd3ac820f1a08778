"""Tags: key-value labels on executions, jobs, tasks and values, stored in the record.

``redun run -t k=v`` and ``[tags]`` in redun.ini tag the execution;
``@task(tags=[("k", "v")])`` tags the task and every job of it; and
``apply_tags(value, tags, job_tags, execution_tags)``, returned from a task,
tags its result, its job or its execution and evaluates to ``value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from redun.task import scheduler_task

if TYPE_CHECKING:
    from redun.expression import SchedulerExpression
    from redun.promise import Promise

TagPairs = list[tuple[str, Any]]


class JobTags:
    """Tags a job gathered while it ran (from apply_tags)."""

    __slots__ = ("job", "values", "execution")

    def __init__(self) -> None:
        self.job: TagPairs = []
        self.values: list[tuple[Any, TagPairs]] = []
        self.execution: TagPairs = []


def tag_pairs(tags: Iterable[tuple[str, Any]] | Mapping[str, Any] | None, what: str) -> TagPairs:
    """Tags as (key, value) pairs, from a list of pairs or a dict."""
    if not tags:
        return []
    items = tags.items() if isinstance(tags, Mapping) else tags
    pairs: TagPairs = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(
                f"{what} must be (key, value) pairs or a dict with str keys, got {item!r}"
            )
        pairs.append((item[0], item[1]))
    return pairs


@scheduler_task(namespace="redun")
def apply_tags(
    scheduler: Any,
    parent_job: Any,
    sexpr: SchedulerExpression,
    value: Any,
    tags: Any = (),
    job_tags: Any = (),
    execution_tags: Any = (),
) -> Promise:
    """Tag ``value`` (``tags``), the calling job (``job_tags``) and the execution
    (``execution_tags``); evaluates to ``value``."""

    def record(args: tuple) -> Any:
        concrete, value_tags, on_job, on_execution = args
        if parent_job is None:
            raise TypeError("apply_tags() must be returned from a task, not run on its own")
        gathered = parent_job.tags
        if gathered is None:
            gathered = parent_job.tags = JobTags()
        pairs = tag_pairs(value_tags, "apply_tags(tags=...)")
        if pairs:
            gathered.values.append((concrete, pairs))
        gathered.job.extend(tag_pairs(on_job, "apply_tags(job_tags=...)"))
        gathered.execution.extend(tag_pairs(on_execution, "apply_tags(execution_tags=...)"))
        return concrete

    return scheduler.evaluate((value, tags, job_tags, execution_tags), parent_job).then(record)
