"""`redun tag list|add|update|rm`: search and edit the tags on executions, jobs and values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from redun.backends.base import BackendError
from redun.backends.db import queries
from redun.backends.db.engine import describe_error
from redun.backends.db.ids import chunks
from redun.backends.db.joblines import full_name
from redun.backends.db.lookup import LookupFailed, load_jobs, match_record
from redun.backends.db.models import TABLES
from redun.backends.db.tags import (
    ENTITY_TYPES,
    Tag,
    TagEditor,
    TagError,
    matching_tags,
    parse_tag,
    show_tag,
    summarize,
    summarize_all,
)
from redun.cli.log import get_backend
from redun.cli.log_text import exec_line, fmt_tags, job_line

job_t, task_t = TABLES["job"], TABLES["task"]
call_node_t, value_t = TABLES["call_node"], TABLES["value"]
_TYPE_FLAGS = (
    ("exec", "Execution", "executions"),
    ("job", "Job", "jobs"),
    ("call-node", "CallNode", "call nodes"),
    ("task", "Task", "tasks"),
    ("value", "Value", "values"),
)


@contextmanager
def _record(ctx: click.Context) -> Iterator[Connection]:
    """A connection on the record; errors become one-line click errors."""
    backend = get_backend(ctx)
    try:
        with backend.connect() as conn:
            yield conn
    except (LookupFailed, TagError, BackendError) as error:
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        raise click.ClickException(describe_error(error, backend.db_name)) from None


def _parse(args: tuple[str, ...], need_value: bool) -> list[tuple[str, Any]]:
    try:
        return [parse_tag(arg, need_value) for arg in args]
    except TagError as error:
        raise click.UsageError(str(error)) from None


@click.group("tag")
def tag() -> None:
    """List, add, update and remove tags on executions, jobs, call nodes, tasks and values."""


def _type_options(func: Callable) -> Callable:
    for flag, entity_type, label in reversed(_TYPE_FLAGS):
        func = click.option(
            f"--{flag}",
            "entity_types",
            flag_value=entity_type,
            multiple=True,
            help=f"Only tags on {label}.",
        )(func)
    return func


@tag.command("list")
@click.argument("filters", nargs=-1, metavar="[KEY[=VALUE] ...]")
@click.option("--values", "with_values", is_flag=True, help="Count tags by key and value.")
@_type_options
@click.pass_context
def list_tags(
    ctx: click.Context, filters: tuple[str, ...], with_values: bool, entity_types: tuple[str, ...]
) -> None:
    """Count the tags by key, or list the records that have every KEY[=VALUE] given.

    With --values, count the tags by key and value (only the keys given, if any).
    """
    wanted = _parse(filters, need_value=False)
    types = entity_types or None
    with _record(ctx) as conn:
        if not wanted:
            counts = summarize_all(conn, with_values, types)
            lines = ["Tags:"] + summary_lines(counts)
        elif with_values:
            counts = summarize(matching_tags(conn, wanted, types), with_values=True)
            lines = ["Tags:"] + summary_lines(counts)
        else:
            lines = render_entities(conn, matching_tags(conn, wanted, types))
    click.echo("\n".join(lines))


def summary_lines(summary: list[tuple[str, str | None, Counter]]) -> list[str]:
    """``  key        (1 Execution, 2 Job)`` lines (``key=value`` with values)."""
    lines = []
    for key, shown, counts in summary:
        label = f"{key:<10}" if shown is None else f"{f'{key}={shown}':<30}"
        lines.append(f"  {label} ({_counts(counts)})")
    return lines


def _counts(counts: Counter) -> str:
    return ", ".join(f"{counts[name]} {name}" for name in sorted(counts))


def render_entities(conn: Connection, tags: list[Tag]) -> list[str]:
    """One `redun log` line per tagged record: executions, jobs, call nodes, tasks, values."""
    ids: dict[str, list[str]] = {entity_type: [] for _, entity_type, _ in _TYPE_FLAGS}
    for tag_row in tags:
        if tag_row.entity_type in ids and tag_row.entity_id not in ids[tag_row.entity_type]:
            ids[tag_row.entity_type].append(tag_row.entity_id)
    all_tags = queries.get_tags(conn, [i for group in ids.values() for i in group])
    lines = []
    for entity_type, renderer in _RENDERERS.items():
        if ids[entity_type]:
            lines += renderer(conn, ids[entity_type], all_tags)
    return lines


def _with_tags(line: str, tags: dict[str, Any]) -> str:
    return f"{line} {fmt_tags(tags)}" if tags else line


def _executions(conn: Connection, ids: list[str], tags: dict) -> list[str]:
    executions = [e for e in (queries.get_execution(conn, i) for i in ids) if e is not None]
    executions.sort(key=lambda e: e.start_time or e.updated_time, reverse=True)
    return [exec_line(execution) for execution in executions]


def _jobs(conn: Connection, ids: list[str], tags: dict) -> list[str]:
    jobs = [job for chunk in chunks(ids) for job in load_jobs(conn, job_t.c.id.in_(chunk))]
    jobs.sort(key=lambda job: job.start_time, reverse=True)
    args = queries.get_call_args(conn, [job.call_hash for job in jobs if job.call_hash])
    return [
        _with_tags(
            job_line(job, queries.format_args(args.get(job.call_hash or "", []))),
            tags.get(job.id, {}),
        )
        for job in jobs
    ]


def _rows_by_key(conn: Connection, columns: list, ids: list[str]) -> Iterator[tuple]:
    """Rows of ``columns`` whose first column (the table's key) is one of ``ids``."""
    for chunk in chunks(sorted(ids)):
        yield from conn.execute(select(*columns).where(columns[0].in_(chunk)))


def _call_nodes(conn: Connection, ids: list[str], tags: dict) -> list[str]:
    columns = [call_node_t.c.call_hash, call_node_t.c.task_name]
    return [
        _with_tags(f"CallNode {call_hash[:8]} {task_name}", tags.get(call_hash))
        for call_hash, task_name in _rows_by_key(conn, columns, ids)
    ]


def _tasks(conn: Connection, ids: list[str], tags: dict) -> list[str]:
    columns = [task_t.c.hash, task_t.c.name, task_t.c.namespace]
    return [
        _with_tags(f"Task {task_hash[:8]} {full_name(name, namespace)}", tags.get(task_hash))
        for task_hash, name, namespace in _rows_by_key(conn, columns, ids)
    ]


def _values(conn: Connection, ids: list[str], tags: dict) -> list[str]:
    columns = [value_t.c.value_hash, value_t.c.type, value_t.c.value]
    return [
        _with_tags(
            f"Value {value_hash[:8]} {type_name} {queries.preview_value(type_name, data)}",
            tags.get(value_hash),
        )
        for value_hash, type_name, data in _rows_by_key(conn, columns, ids)
    ]


_RENDERERS: dict[str, Callable[[Connection, list[str], dict], list[str]]] = {
    "Execution": _executions,
    "Job": _jobs,
    "CallNode": _call_nodes,
    "Task": _tasks,
    "Value": _values,
}


def _edit(ctx: click.Context, record_id: str, verb: str, edit: Callable) -> None:
    """Find the record, run ``edit(editor)`` in one transaction, report what changed."""
    with _record(ctx) as conn:
        kind, full_id = match_record(conn, record_id)
        editor = TagEditor(conn, ENTITY_TYPES[kind], full_id)
        changed = edit(editor)
        conn.commit()
    shown = " ".join(show_tag(t.key, t.value) for t in changed)
    if shown:
        click.echo(f"{verb} tag {ENTITY_TYPES[kind]}:{full_id} {shown}")
    else:
        click.echo(f"{ENTITY_TYPES[kind]}:{full_id} already has these tags")


@tag.command("add")
@click.argument("record_id", metavar="ID")
@click.argument("tags", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.pass_context
def add(ctx: click.Context, record_id: str, tags: tuple[str, ...]) -> None:
    """Add tags to an execution, job, call node, task or value (ID or id prefix).

    VALUE is read as JSON when it parses (1, true, [1, 2]) and as text otherwise.
    A key may hold several values; `redun tag update` replaces them instead.
    """
    pairs = _parse(tags, need_value=True)
    _edit(ctx, record_id, "add", lambda editor: editor.add(pairs))


@tag.command("update")
@click.argument("record_id", metavar="ID")
@click.argument("tags", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.pass_context
def update(ctx: click.Context, record_id: str, tags: tuple[str, ...]) -> None:
    """Set tags, replacing the current values of their keys."""
    pairs = _parse(tags, need_value=True)
    _edit(ctx, record_id, "update", lambda editor: editor.add(pairs, replace=True))


@tag.command("rm")
@click.argument("record_id", metavar="ID")
@click.argument("tags", nargs=-1, required=True, metavar="KEY[=VALUE]...")
@click.pass_context
def remove(ctx: click.Context, record_id: str, tags: tuple[str, ...]) -> None:
    """Remove tags: KEY=VALUE removes that value, KEY alone every value of the key."""
    items = _parse(tags, need_value=False)
    _edit(ctx, record_id, "delete", lambda editor: editor.remove(items))
