"""`redun log`: recent executions, or one execution, job, call node, task or value by id."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import click
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from redun.backends.base import BackendError
from redun.backends.db import queries
from redun.backends.db.engine import describe_error
from redun.backends.db.queries import ExecutionInfo, JobInfo

RULE = "-" * 80
_STATUS_LABELS = {"RUNNING": "RUN"}
_COUNT_COLUMNS = ("PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL")


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


@click.command("log")
@click.argument("record_id", required=False, metavar="[ID|-]")
@click.option("--job", "show_jobs", is_flag=True, help="List jobs (newest first).")
@click.pass_context
def log(ctx: click.Context, record_id: str | None, show_jobs: bool) -> None:
    """Show recent executions, or one execution, job, call node, task or value.

    ID may be a full id or a prefix; `-` shows the latest execution.
    """
    backend = get_backend(ctx)
    try:
        with backend.connect() as conn:
            lines = render_jobs(conn) if show_jobs else render(conn, record_id)
    except BackendError as error:
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        raise click.ClickException(describe_error(error, backend.db_name)) from None
    click.echo("\n".join(lines).rstrip("\n"))


def render_jobs(conn: Connection) -> list[str]:
    """The lines `redun log --job` prints: every job, newest first, with its arguments.

    Reads plain rows (a 100,000-job record lists in about a second).
    """
    args = queries.all_call_args(conn)
    times: dict[Any, str] = {}
    lines = []
    for job_id, start, _end, _cached, call_hash, task_name, status in queries.list_all_jobs(conn):
        second = start[:19] if isinstance(start, str) else start  # SQLite keeps text
        shown = times.get(second)
        if shown is None:
            shown = times[second] = fmt_time(_as_datetime(start))
        call_args = args.get(call_hash or "", "")
        lines.append(f"Job {job_id[:8]} {fmt_status(status)} {shown}:  {task_name}({call_args})")
    return lines


def _as_datetime(value: Any) -> dt.datetime | None:
    """A stored time as a naive UTC datetime (SQLite hands back text)."""
    if value is None or isinstance(value, dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    return dt.datetime.fromisoformat(value)


def render(conn: Connection, record_id: str | None) -> list[str]:
    """The lines `redun log [ID]` prints."""
    if record_id is None:
        executions = queries.list_executions(conn)
        return ["Recent executions:", ""] + [exec_line(e) for e in executions]
    if record_id == "-":
        latest = queries.latest_execution_id(conn)
        if latest is None:
            raise click.ClickException("the redun database has no executions yet")
        return render_execution(conn, latest)
    kind, ids = queries.find_records(conn, record_id)
    if not ids:
        raise click.ClickException(
            f"no execution, job, call node, task or value has an id starting with {record_id!r}"
        )
    if record_id in ids:  # a full id that is also a prefix of another
        ids = [record_id]
    if len(ids) > 1:
        raise click.ClickException(
            f"id prefix {record_id!r} matches several {kind.replace('_', ' ')}s "
            f"({', '.join(i[:12] for i in ids)}, ...); give more characters"
        )
    renderers = {
        "execution": render_execution,
        "job": render_job,
        "call_node": render_call_node,
        "task": render_task,
        "value": render_value,
    }
    return renderers[kind](conn, ids[0])


# Formatting helpers -------------------------------------------------------------------
def fmt_time(time: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored (naive UTC) time in the local time zone."""
    if time is None:
        return "?"
    return time.replace(tzinfo=dt.timezone.utc).astimezone().strftime(fmt)


def fmt_duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """``H:MM:SS.ss`` between two times (hundredths truncated)."""
    if start is None or end is None:
        return "?"
    total = max((end - start).total_seconds(), 0.0)
    whole = int(total)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{int((total - whole) * 100):02d}"


def indent(lines: list[str], prefix: str = "  ") -> list[str]:
    """Indent each line, leaving blank lines empty."""
    return [prefix + line if line.strip() else "" for line in lines]


def fmt_status(status: str) -> str:
    return f"[{_STATUS_LABELS.get(status, status):^6}]"


def fmt_tags(tags: dict[str, Any]) -> str:
    if not tags:
        return ""
    items = (f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(tags.items()))
    return f"({', '.join(items)})"


def exec_line(execution: ExecutionInfo, full_id: bool = False) -> str:
    """``Exec 1a2b3c4d [ DONE ] 2024-01-01 10:00:00:  run wf.py main (tags)``."""
    exec_id = execution.id if full_id else execution.id[:8]
    command = " ".join(execution.args[1:])
    line = (
        f"Exec {exec_id} {fmt_status(execution.status)} {fmt_time(execution.start_time)}:  "
        f"{command} {fmt_tags(execution.tags)}"
    )
    return line.rstrip()


def job_line(job: JobInfo, args: str | None, full_id: bool = False) -> str:
    """``Job 1a2b3c4d [ DONE ] 2024-01-01 10:00:00:  demo.add(1, 2)``."""
    job_id = job.id if full_id else job.id[:8]
    call = f"{job.task_name}({args or ''})"
    return f"Job {job_id} {fmt_status(job.status)} {fmt_time(job.start_time)}:  {call}"


def job_args(conn: Connection, jobs: list[JobInfo]) -> dict[str, str]:
    """Formatted arguments of each job's call node, keyed by call hash."""
    args = queries.get_call_args(conn, [j.call_hash for j in jobs if j.call_hash])
    return {call_hash: queries.format_args(infos) for call_hash, infos in args.items()}


def status_table(jobs: list[JobInfo], time: dt.datetime | None) -> list[str]:
    """The ``| JOB STATUS`` table: job counts per task and status."""
    counts: dict[str, Counter] = {"ALL": Counter()}
    for job in jobs:
        for name in ("ALL", job.task_name):
            counts.setdefault(name, Counter())[job.status] += 1
            counts[name]["TOTAL"] += 1
    width = max(len(name) for name in [*counts, "TASK"])
    stamp = fmt_time(time, "%Y/%m/%d %H:%M:%S") if time else "?"
    lines = [
        f"| JOB STATUS {stamp}",
        "| " + "TASK".ljust(width) + "".join(f" {col:>7}" for col in _COUNT_COLUMNS),
        "| ",
    ]
    for name in ["ALL", *sorted(n for n in counts if n != "ALL")]:
        cells = "".join(f" {counts[name][col]:>7}" for col in _COUNT_COLUMNS)
        lines.append("| " + name.ljust(width) + cells)
    return lines


# Record views ---------------------------------------------------------------------------
def render_execution(conn: Connection, execution_id: str) -> list[str]:
    execution = queries.get_execution(conn, execution_id)
    if execution is None:
        raise click.ClickException(f"execution {execution_id} is not in the redun database")
    tree = queries.get_job_tree(conn, execution_id)
    jobs = [job for _, job in tree]
    root = execution.root
    end = (root.end_time if root else None) or execution.updated_time
    status = Counter(job.status for job in jobs)
    lines = [exec_line(execution, full_id=True)]
    lines.append(f"Duration: {fmt_duration(execution.start_time, end)}")
    lines += ["", *status_table(jobs, end), ""]
    lines.append(
        f"Jobs: {len(jobs)} (DONE: {status['DONE']}, CACHED: {status['CACHED']}, "
        f"FAILED: {status['FAILED']})"
    )
    lines.append(RULE)
    args = job_args(conn, jobs)
    for depth, job in tree:
        lines.append("  " * depth + job_line(job, args.get(job.call_hash or "")))
    return lines


def render_job(conn: Connection, job_id: str) -> list[str]:
    job = queries.get_job(conn, job_id)
    if job is None:
        raise click.ClickException(f"job {job_id} is not in the redun database")
    chain = queries.get_job_ancestors(conn, job)
    path = " > ".join(f"Job {j.id[:8]} {j.task_name.rsplit('.', 1)[-1]}" for j in chain)
    lines = [
        job_line(job, job_args(conn, [job]).get(job.call_hash or ""), full_id=True),
        f"Traceback: Exec {job.execution_id[:8]} > {path}",
    ]
    if job.end_time is not None:
        lines.append(f"Duration: {fmt_duration(job.start_time, job.end_time)}")
    if job.call_hash:
        details = render_call_node(conn, job.call_hash, with_children=False)
    else:
        details = render_task(conn, job.task_hash)
    return lines + [""] + indent(details)


def render_call_node(conn: Connection, call_hash: str, with_children: bool = True) -> list[str]:
    node = queries.get_call_node(conn, call_hash)
    if node is None:
        raise click.ClickException(f"call node {call_hash} is not in the redun database")
    lines = [
        f"CallNode {node.call_hash} {node.task_name}",
        f"  Args:   {queries.format_args(node.args)}",
        f"  {'Raised' if node.is_error else 'Result'}: {node.preview}",
    ]
    if with_children and node.children:
        lines.append("  Child CallNodes:")
        lines += [f"    CallNode {child[:8]} {name}" for child, name in node.children]
    return lines + [""] + render_task(conn, node.task_hash)


def render_task(conn: Connection, task_hash: str) -> list[str]:
    task = queries.get_task(conn, task_hash)
    if task is None:
        return [f"Task {task_hash} (not recorded)"]
    fullname = f"{task.namespace}.{task.name}" if task.namespace else task.name
    source = indent(task.source.rstrip("\n").splitlines())
    return [f"Task {task.hash} {fullname}", "", *source, ""]


def render_value(conn: Connection, value_hash: str) -> list[str]:
    found = queries.get_value(conn, value_hash)
    if found is None:
        raise click.ClickException(f"value {value_hash} is not in the redun database")
    type_name, preview = found
    return [f"Value {value_hash[:8]} {type_name}", preview]
