"""Context: configuration a workflow reads where it needs it, instead of passing it down.

The execution's context is ``[scheduler] context`` (JSON) or ``context_file`` in
redun.ini, updated by ``redun run --context key.path=value`` / ``--context-file``
or ``Scheduler.run(context=...)``. A task reads it with a default argument::

    @task
    def align(reads: File, threads: int = get_context("align.threads", 4)): ...

The value is an argument like any other, so a changed context re-runs exactly
the tasks that read it. ``task.update_context(...)`` overrides it below one call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from redun.config import parse_text_value
from redun.task import scheduler_task

if TYPE_CHECKING:
    from redun.expression import SchedulerExpression
    from redun.promise import Promise


class ContextError(ValueError):
    """A context definition that cannot be read; the message says which and why."""


def get_context_value(context: dict, var_path: str, default: Any = None) -> Any:
    """The value at dot-separated ``var_path`` in ``context``, or ``default``."""
    value: Any = context
    for part in var_path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def merge_dicts(dicts: Iterable[dict]) -> dict:
    """Deep-merge dicts left to right: nested dicts merge, other values are replaced."""
    merged: dict = {}
    for update in dicts:
        stack = [(merged, update)]
        while stack:
            target, source = stack.pop()
            for key, value in source.items():
                if isinstance(value, dict) and isinstance(target.get(key), dict):
                    target[key] = dict(target[key])
                    stack.append((target[key], value))
                elif isinstance(value, dict):
                    target[key] = merge_dicts([value])
                else:
                    target[key] = value
    return merged


def context_from_updates(updates: Iterable[str]) -> dict:
    """``["a.b=1", "c=x"]`` as ``{"a": {"b": 1}, "c": "x"}``."""
    context: dict = {}
    for update in updates:
        key, sep, text = update.partition("=")
        if not sep or not key:
            raise ContextError(f"context update {update!r} is not KEY=VALUE (e.g. align.threads=8)")
        target = context
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ContextError(f"context update {update!r} conflicts with an earlier one")
        target[last] = parse_text_value(text)
    return context


def load_context_text(text: str, origin: str) -> dict:
    """A context given as JSON text (``origin`` names where it came from, for errors)."""
    try:
        context = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise ContextError(f"{origin} is not valid JSON ({error}); give a JSON object") from None
    if not isinstance(context, dict):
        raise ContextError(f"{origin} must be a JSON object, not {type(context).__name__}")
    return context


def load_context_file(path: str) -> dict:
    """The JSON object in the file at ``path``."""
    try:
        with open(path, encoding="utf-8") as infile:
            text = infile.read()
    except OSError as error:
        raise ContextError(f"cannot read context file {path}: {error.strerror}") from None
    return load_context_text(text, f"context file {path}")


@scheduler_task(namespace="redun")
def get_context(
    scheduler: Any, parent_job: Any, sexpr: SchedulerExpression, var_path: str, default: Any = None
) -> Promise:
    """The value at ``var_path`` (``"a.b.c"``) in the calling job's context, else ``default``."""
    return scheduler.evaluate((var_path, default), parent_job).then(
        lambda args: get_context_value(scheduler.job_context(parent_job), args[0], args[1])
    )
