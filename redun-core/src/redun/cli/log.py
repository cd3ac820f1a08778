"""`redun log`: executions, jobs, call nodes, tasks, values and files from the record.

``redun log`` lists recent executions; ``redun log ID`` shows any record by id or unique
prefix (``-`` and ``~1`` are the latest execution, ``~N`` the N-th latest); ``redun log PATH``
shows the job that produced a file. Kind flags (``--job`` ...) list records of that kind,
narrowed by the filter options. Output goes through a pager only on a terminal.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from redun.backends.base import BackendError

KIND_FLAGS = (
    ("execution", "--exec", "Execution"),
    ("job", "--job", "Job"),
    ("call_node", "--call-node", "CallNode"),
    ("task", "--task", "Task"),
    ("value", "--value", "Value"),
    ("file", "--file", "File"),
)
ALL_KINDS = ("execution", "job", "call_node", "task", "value")  # --all, as redun 0.44.1
LABELS = {kind: label for kind, _, label in KIND_FLAGS}


def get_backend(ctx: click.Context, load: bool = True) -> Any:
    """The backend chosen by the root command, which also closes it.

    The root command puts ``get_backend(load: bool = True)`` in ``ctx.obj``; with
    ``load=False`` the backend is returned unopened (for `redun db`). A BackendError
    becomes a one-line click error.
    """
    obj = ctx.find_root().obj or {}
    factory = obj.get("get_backend")
    if factory is None:
        raise click.ClickException("no redun database is configured for this command")
    try:
        return factory() if load else factory(load=False)
    except BackendError as error:
        raise click.ClickException(str(error)) from None


@dataclass
class LogOptions:
    """What `redun log` was asked for (the parsed command line)."""

    record_id: str | None
    kinds: list[str]
    implicit_executions: bool  # no kind asked for: the default listing, with its header
    filters: dict[str, Any]
    count: bool
    detail: bool
    json: bool
    limit: int | None


def _comma_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _statuses(option: str, value: str | None, allowed: tuple[str, ...]) -> list[str]:
    statuses = [s.upper() for s in _comma_list(value)]
    for status in statuses:
        if status not in allowed:
            raise click.ClickException(
                f"{option}: unknown status {status!r}; choose from {', '.join(allowed)}"
            )
    return statuses


@click.command("log")
@click.argument("record_id", required=False, metavar="[ID|-|~N|PATH]")
@click.option("--exec", "k_execution", is_flag=True, help="List executions.")
@click.option("--job", "k_job", is_flag=True, help="List jobs (newest first).")
@click.option("--call-node", "k_call_node", is_flag=True, help="List call nodes.")
@click.option("--task", "k_task", is_flag=True, help="List tasks.")
@click.option("--value", "k_value", is_flag=True, help="List values.")
@click.option("--file", "k_file", is_flag=True, help="List files.")
@click.option(
    "--all", "all_kinds", is_flag=True, help="List executions, jobs, call nodes, tasks and values."
)
@click.option(
    "--exec-status",
    metavar="S,...",
    help="Keep executions with these statuses (RUNNING, FAILED, DONE).",
)
@click.option(
    "--job-status",
    metavar="S,...",
    help="Keep jobs with these statuses (RUNNING, FAILED, CACHED, DONE).",
)
@click.option(
    "--task-name",
    metavar="NAME",
    help="Keep jobs, call nodes and tasks of this task (full or bare name).",
)
@click.option(
    "--task-hash",
    metavar="HASH",
    help="Keep jobs, call nodes and tasks of this task hash (or prefix).",
)
@click.option(
    "--value-type",
    metavar="TYPE",
    help="Keep values (and results of call nodes) of this type, e.g. builtins.int.",
)
@click.option("--file-path", metavar="PATH", help="Keep files (and their values) at this path.")
@click.option(
    "--exec-id", metavar="ID,...", help="Keep records of these executions (ids or prefixes)."
)
@click.option(
    "--arg", "arg_ids", metavar="HASH,...", help="Keep jobs and call nodes taking these values."
)
@click.option(
    "--result",
    "result_ids",
    metavar="HASH,...",
    help="Keep jobs and call nodes returning these values.",
)
@click.option(
    "-t",
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keep records with this tag (repeatable).",
)
@click.option(
    "--exec-tag",
    "exec_tags",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keep records of executions with this tag (repeatable).",
)
@click.option("--count", is_flag=True, help="Show how many records match instead of the records.")
@click.option("--detail", is_flag=True, help="Show each listed record in full.")
@click.option(
    "--limit", type=click.IntRange(min=0), help="Show at most this many records of each kind."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format (json: one JSON object per line).",
)
@click.option(
    "--no-pager", is_flag=True, help="Never page the output (it is paged only on a terminal)."
)
@click.pass_context
def log(ctx: click.Context, record_id: str | None, **params: Any) -> None:  # noqa: D417
    """Show recent executions, or one execution, job, call node, task, value or file.

    ID is a full id or a unique prefix of any record; `-` is the latest execution and
    `~N` the N-th latest (`~1` is the latest, as `-`). PATH (a local path or URL) shows the
    job that produced that file, its arguments, its code and its upstream dataflow.
    """
    options = _parse(record_id, params)
    backend = get_backend(ctx)

    try:
        with _no_gc():
            lines = _render(backend, options)
    except BackendError as error:
        raise click.ClickException(str(error)) from None
    output(lines, pager=not params["no_pager"])


def _render(backend: Any, options: LogOptions) -> list[str]:
    if _lists_every_job(options):  # in plain SQL: no SQLAlchemy to import
        from redun.cli.log_jobs import every_job_lines

        return every_job_lines(backend)
    from sqlalchemy.exc import SQLAlchemyError

    from redun.backends.db.engine import describe_error
    from redun.cli.log_render import render

    try:
        with backend.connect() as conn:
            return render(conn, options)
    except SQLAlchemyError as error:
        raise click.ClickException(describe_error(error, backend.db_name)) from None


def _lists_every_job(options: LogOptions) -> bool:
    """Whether the command is a plain `redun log --job`: every job, one line each."""
    plain = not (options.count or options.detail or options.json or options.limit is not None)
    unfiltered = not any(options.filters.values())
    return plain and unfiltered and options.record_id is None and options.kinds == ["job"]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: listings build 100,000s of objects and no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(record_id: str | None, params: dict[str, Any]) -> LogOptions:
    kinds = [kind for kind, _, _ in KIND_FLAGS if params[f"k_{kind}"]]
    if params["all_kinds"]:
        kinds = [*ALL_KINDS, *(k for k in kinds if k not in ALL_KINDS)]
    filters = {
        "exec_statuses": _statuses(
            "--exec-status", params["exec_status"], ("RUNNING", "FAILED", "DONE")
        ),
        "job_statuses": _statuses(
            "--job-status", params["job_status"], ("RUNNING", "FAILED", "CACHED", "DONE")
        ),
        "task_name": params["task_name"],
        "task_hash": params["task_hash"],
        "value_type": params["value_type"],
        "file_path": params["file_path"],
        "exec_ids": _comma_list(params["exec_id"]),
        "arg_ids": _comma_list(params["arg_ids"]),
        "result_ids": _comma_list(params["result_ids"]),
        "tags": list(params["tags"]),
        "exec_tags": list(params["exec_tags"]),
    }
    implicit = False
    if not kinds and record_id is None:
        kinds = _implied_kinds(filters)
        implicit = kinds == ["execution"]
    return LogOptions(
        record_id=record_id,
        kinds=kinds,
        implicit_executions=implicit,
        filters=filters,
        count=params["count"],
        detail=params["detail"],
        json=params["fmt"] == "json",
        limit=params["limit"],
    )


def _implied_kinds(filters: dict[str, Any]) -> list[str]:
    """The kinds a listing shows when no kind flag is given: what the filters are about."""
    kinds = []
    if filters["job_statuses"] or filters["task_name"] or filters["task_hash"]:
        kinds.append("job")
    if filters["arg_ids"] or filters["result_ids"]:
        kinds.append("job")
    if filters["value_type"]:
        kinds.append("value")
    if filters["file_path"]:
        kinds.append("file")
    return list(dict.fromkeys(kinds)) or ["execution"]


def output(lines: list[str], pager: bool = True) -> None:
    """Print the lines; through the pager only when stdout is a terminal."""
    text = "\n".join(lines).rstrip("\n")
    if not text:
        return
    if pager and sys.stdout.isatty():
        click.echo_via_pager(text + "\n")
    else:
        click.echo(text)
