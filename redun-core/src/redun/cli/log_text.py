"""Text views for `redun log`, in redun 0.44.1's layout: one function per kind of record."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

import click
from sqlalchemy import Connection, select

from redun.backends.db import queries
from redun.backends.db.joblines import full_name
from redun.backends.db.listing import CallNodeRow, ValueRow
from redun.backends.db.queries import ExecutionInfo, JobInfo, job_t

# The formatting helpers, importable from here as before.
from redun.cli.log_format import fmt_duration as fmt_duration
from redun.cli.log_format import fmt_status as fmt_status
from redun.cli.log_format import fmt_stored_time as fmt_stored_time
from redun.cli.log_format import fmt_tags as fmt_tags
from redun.cli.log_format import fmt_time as fmt_time
from redun.cli.log_format import indent as indent
from redun.cli.log_format import job_lines as job_lines
from redun.cli.log_format import short_name as short_name

if TYPE_CHECKING:
    from redun.backends.db.provenance import Dataflow, FlowCall

RULE = "-" * 80
_COUNT_COLUMNS = ("PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL")


# One-line records ---------------------------------------------------------------------
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


def call_node_line(row: CallNodeRow) -> str:
    return f"CallNode {row.call_hash[:8]} {row.task_name}"


def task_line(row: tuple) -> str:
    task_hash, name, namespace = row[:3]
    return f"Task {task_hash[:8]} {full_name(name, namespace)}"


def value_line(row: ValueRow) -> str:
    return f"Value {row.value_hash[:8]} {row.type} {row.preview}"


def file_line(value_hash: str, path: str) -> str:
    return f"File {value_hash[:8]} {path}"


def status_table(jobs: list[JobInfo], time: dt.datetime | None) -> list[str]:
    """The ``| JOB STATUS`` table: job counts per task and status."""
    pairs = Counter((job.task_name, job.status) for job in jobs)
    counts: dict[str, Counter] = {"ALL": Counter()}
    for (name, status), count in pairs.items():
        for key in ("ALL", name):
            counts.setdefault(key, Counter())[status] += count
            counts[key]["TOTAL"] += count
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
def render_execution(conn: Connection, execution: ExecutionInfo) -> list[str]:
    """An execution: its status table and its job tree."""
    tree = queries.get_job_tree(conn, execution.id)
    jobs = [job for _, job in tree]
    end = execution.end_time
    status = Counter(job.status for job in jobs)
    lines = [exec_line(execution, full_id=True)]
    lines.append(f"Duration: {fmt_duration(execution.start_time, end)}")
    lines += ["", *status_table(jobs, end), ""]
    lines.append(
        f"Jobs: {len(jobs)} (DONE: {status['DONE']}, CACHED: {status['CACHED']}, "
        f"FAILED: {status['FAILED']})"
    )
    lines.append(RULE)
    calls = select(job_t.c.call_hash).where(job_t.c.execution_id == execution.id)
    args = queries.call_args_text(conn, [j.call_hash for j in jobs if j.call_hash], calls)
    for depth, job in tree:
        lines.append("  " * depth + job_line(job, args.get(job.call_hash or "")))
    return lines


def render_job(conn: Connection, job: JobInfo) -> list[str]:
    """A job: where it ran, its call (arguments, result), its task's code, its dataflow."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    chain = queries.get_job_ancestors(conn, job)
    path = " > ".join(f"Job {j.id[:8]} {short_name(j.task_name)}" for j in chain)
    args = queries.call_args_text(conn, [job.call_hash] if job.call_hash else [])
    lines = [
        job_line(job, args.get(job.call_hash or ""), full_id=True),
        f"Traceback: Exec {job.execution_id[:8]} > {path}",
    ]
    if job.end_time is not None:
        lines.append(f"Duration: {fmt_duration(job.start_time, job.end_time)}")
    if not job.call_hash:
        return lines + [""] + indent(render_task(conn, job.task_hash))
    node = queries.get_call_node(conn, job.call_hash)
    if node is None:
        return lines + [""] + indent(render_task(conn, job.task_hash))
    details = call_node_section(node, with_neighbours=False) + [""]
    details += render_task(conn, node.task_hash) + [""]
    ancestry = [j.call_hash for j in chain if j.call_hash]
    flow = provenance.call_dataflow(conn, node.call_hash, ancestry)
    if flow is not None:
        details += render_dataflow(flow)
    if node.is_error:
        details += error_traceback(conn, node.value_hash)
    return lines + [""] + indent(details)


def call_node_section(node: queries.CallNodeInfo, with_neighbours: bool = True) -> list[str]:
    lines = [
        f"CallNode {node.call_hash} {node.task_name}",
        f"  Args:   {queries.format_args(node.args)}",
        f"  {'Raised' if node.is_error else 'Result'}: {node.preview}",
    ]
    if with_neighbours and node.children:
        lines.append("  Child CallNodes:")
        lines += [f"    CallNode {child[:8]} {name}" for child, name in node.children]
    if with_neighbours and node.parents:
        lines.append("  Parent CallNodes:")
        lines += [f"    CallNode {parent[:8]} {name}" for parent, name in node.parents]
    return lines


def render_call_node(conn: Connection, call_hash: str) -> list[str]:
    """A call node: arguments, result, neighbours, its task's code and its dataflow."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    node = queries.get_call_node(conn, call_hash)
    if node is None:
        raise click.ClickException(f"call node {call_hash} is not in the redun database")
    lines = call_node_section(node) + [""] + render_task(conn, node.task_hash) + [""]
    flow = provenance.call_dataflow(conn, call_hash)
    if flow is not None:
        lines += render_dataflow(flow)
    return lines


def render_task(conn: Connection, task_hash: str, first_job: bool = False) -> list[str]:
    """A task and its source."""
    task = queries.get_task(conn, task_hash)
    if task is None:
        return [f"Task {task_hash} (not recorded)"]
    fullname = f"{task.namespace}.{task.name}" if task.namespace else task.name
    lines = [f"Task {task.hash} {fullname}"]
    if first_job:
        first = queries.first_job(conn, task_hash)
        if first is not None:
            lines.append(f"  First Job {first[0][:8]} {fmt_time(first[1])}")
    source = indent(task.source.rstrip("\n").splitlines())
    return lines + ["", *source, ""]


def render_value(conn: Connection, value_hash: str) -> list[str]:
    """A value (a File shows its path) and where it came from."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    found = queries.get_value(conn, value_hash)
    if found is None:
        raise click.ClickException(f"value {value_hash} is not in the redun database")
    type_name, preview = found
    path = queries.get_file_paths(conn, [value_hash]).get(value_hash)
    if path is not None:
        lines = [file_line(value_hash, path)]
    else:
        lines = [f"Value {value_hash[:8]} {type_name}", preview]
    flow = provenance.value_dataflow(conn, value_hash)
    if flow is not None:
        lines += [""] + render_dataflow(flow)
    return lines


def render_file(conn: Connection, files: list[tuple[str, str]]) -> list[str]:
    """The job that produced a file (the newest), shown in full."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    producers = provenance.file_producers(conn, [value_hash for value_hash, _ in files])
    if not producers:
        value_hash, path = files[0]
        return [file_line(value_hash, path), "No recorded job produced this file."]
    job, value_hash = producers[0]
    lines = [file_line(value_hash, dict(files)[value_hash]), f"Produced by Job {job.id[:8]}", ""]
    return lines + indent(render_job(conn, job))


def error_traceback(conn: Connection, value_hash: str) -> list[str]:
    """The ``Traceback:`` section of a failed call, from the error it recorded."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    found = provenance.describe_value(conn, value_hash)
    error = found[1] if found else None
    text = getattr(error, "traceback", None)
    if text is not None and not isinstance(text, str):
        formatted = getattr(text, "format", None)
        text = "".join(formatted()) if callable(formatted) else None
    header = "Traceback (most recent call last):"
    body = [line for line in (text or "").rstrip("\n").splitlines() if line.strip() != header]
    raised = getattr(error, "error", None)
    if isinstance(raised, BaseException):
        last = f"{type(raised).__name__}: {raised}"
        if not body or body[-1].strip() != last:
            body.append(last)
    return ["Traceback:", *body, ""] if body else []


def render_dataflow(flow: Dataflow) -> list[str]:
    """The ``Upstream dataflow:`` section."""
    lines = ["Upstream dataflow:", "", f"  {flow.var} = {flow.preview}", ""]
    for step in flow.steps:
        pad = " " * len(step.var)
        for i, link in enumerate(step.links):
            lead = f"  {step.var} <-- " if i == 0 else f"  {pad} <-- "
            if link.kind == "origin":
                lines.append(lead + "origin")
            elif link.kind == "argument" and link.call is not None:
                lines.append(f"{lead}argument {link.param} of {_call_text(link.call)}")
            elif link.call is not None:
                shown = " (see above)" if link.call.shown_before else ""
                lines.append(lead + _call_text(link.call) + shown)
                lines += [
                    f"    {a.name} = <{a.value_hash[:8]}> {a.preview}" for a in link.call.args
                ]
        lines.append("")
    if flow.truncated:
        lines += ["  ... (more upstream dataflow not shown)", ""]
    return lines


def _call_text(call: FlowCall) -> str:
    return f"<{call.call_hash[:8]}> {short_name(call.task_name)}({', '.join(call.params)})"
