"""What moves between records: the tables in foreign-key order, their keys, and the
columns of rows that change after they are written."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from redun.backends.db.models import TABLES

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class TableSpec:
    """One table of the record as the sync sees it.

    ``refresh`` names columns that change after a row is written (a job that
    ends, a tag that is superseded).
    """

    name: str
    label: str
    keys: tuple[str, ...]
    refresh: tuple[str, ...] = ()

    @property
    def table(self) -> Table:
        return TABLES[self.name]

    def key(self, row: Row) -> Key:
        return tuple(row[name] for name in self.keys)


# Parents before children: every row's references are written before (or with) it.
SPECS: tuple[TableSpec, ...] = (
    TableSpec("task", "task", ("hash",)),
    TableSpec("value", "value", ("value_hash",)),
    TableSpec("file", "file", ("value_hash",)),
    TableSpec("subvalue", "subvalue", ("value_hash", "parent_value_hash")),
    TableSpec("handle", "handle", ("hash",)),
    TableSpec("handle_edge", "handle edge", ("parent_id", "child_id")),
    TableSpec("call_node", "call node", ("call_hash",)),
    TableSpec("call_edge", "call edge", ("parent_id", "child_id", "call_order")),
    TableSpec("call_subtree_task", "call subtree task", ("call_hash", "task_hash")),
    TableSpec("argument", "argument", ("arg_hash",)),
    TableSpec("argument_result", "argument result", ("arg_hash", "result_call_hash")),
    TableSpec("evaluation", "evaluation", ("eval_hash",)),
    # A job refers to its execution and the execution to its root job: they travel together.
    TableSpec("job", "job", ("id",), refresh=("end_time", "call_hash", "cached")),
    TableSpec("execution", "execution", ("id",), refresh=("updated_time",)),
    TableSpec("tag", "tag", ("tag_hash",), refresh=("is_current",)),
    TableSpec("tag_edit", "tag edit", ("parent_id", "child_id")),
)
SPEC_BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in SPECS}
# How summaries list the tables: the call graph first, then what it refers to.
SUMMARY_ORDER = (
    "execution", "job", "call_node", "call_edge", "call_subtree_task", "argument",
    "argument_result", "value", "file", "subvalue", "task", "evaluation", "tag", "tag_edit",
    "handle", "handle_edge",
)  # fmt: skip


def _job_update(source: Row, dest: Row) -> Row | None:
    """A job the destination saw start has since ended."""
    if dest["end_time"] is None and source["end_time"] is not None:
        return {name: source[name] for name in ("end_time", "call_hash", "cached")}
    return None


def _execution_update(source: Row, dest: Row) -> Row | None:
    """An execution the destination holds has been extended (e.g. by a later subrun)."""
    new, old = source["updated_time"], dest["updated_time"]
    if new is not None and (old is None or new > old):
        return {"updated_time": new}
    return None


def _tag_update(source: Row, dest: Row) -> Row | None:
    """A tag superseded (edited or removed) at the source is no longer current here."""
    if dest["is_current"] and not source["is_current"]:
        return {"is_current": False}
    return None


# (source row, destination row) -> the columns to update, for rows both records hold.
UPDATE_RULES: dict[str, Callable[[Row, Row], Row | None]] = {
    "job": _job_update,
    "execution": _execution_update,
    "tag": _tag_update,
}


def sort_jobs(
    rows: Iterable[Row], present: Callable[[str], bool] = lambda _id: True
) -> tuple[list[Row], list[Row]]:
    """Jobs with every parent before its children, and the jobs left waiting.

    A job is placed when its parent is placed before it or ``present(parent_id)`` says
    the parent is stored already; the rest (parent not yet seen) are returned second.
    """
    by_id = {row["id"]: row for row in rows}
    children: dict[str, list[str]] = {}
    ready: list[str] = []
    for job_id, row in by_id.items():
        parent = row["parent_id"]
        if parent is not None and parent in by_id and parent != job_id:
            children.setdefault(parent, []).append(job_id)
        elif parent is None or parent == job_id or present(parent):
            ready.append(job_id)
    ordered: list[Row] = []
    while ready:
        job_id = ready.pop()
        ordered.append(by_id.pop(job_id))
        ready.extend(children.get(job_id, ()))
    return ordered, list(by_id.values())


def plural(count: int, label: str) -> str:
    return f"{count} {label}" if count == 1 else f"{count} {label}s"
