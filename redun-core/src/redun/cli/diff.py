"""`redun diff EXEC_A EXEC_B`: which calls, arguments, results and task code differ."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from redun.backends.base import BackendError
from redun.backends.db import queries
from redun.backends.db.calltree import CallTreeNode
from redun.backends.db.diff import CallChange, ExecutionDiff, diff_calls, root_of
from redun.backends.db.engine import describe_error
from redun.backends.db.lookup import LookupFailed, resolve_execution
from redun.cli.log import get_backend
from redun.cli.log_text import fmt_status, fmt_time

_MARKS = {"changed": "~", "added": "+", "removed": "-"}


@click.command("diff")
@click.argument("exec_a", metavar="EXEC_A")
@click.argument("exec_b", metavar="EXEC_B")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def diff(ctx: click.Context, exec_a: str, exec_b: str, output_format: str) -> None:
    """Show which calls, arguments, results and task code differ between two executions.

    EXEC_A and EXEC_B are execution ids or prefixes, `-` (the latest execution), `~N`
    (the Nth latest, as in redun 0.44: `~1` is `-`) or job ids (to compare two jobs'
    subtrees). Calls are matched by their place in the call tree: the tasks on the path
    from the root; among calls of one task, the same call, else the same arguments, else
    call order.
    """
    backend = get_backend(ctx)
    try:
        with backend.connect() as conn:
            sides = [_side(conn, ref) for ref in (exec_a, exec_b)]
            result = diff_calls(conn, sides[0][1], sides[1][1])
            headers = [_header(conn, kind, ids) for kind, ids in sides]
    except LookupFailed as error:
        raise click.ClickException(str(error)) from None
    except BackendError as error:
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        raise click.ClickException(describe_error(error, backend.db_name)) from None
    if output_format == "json":
        click.echo(json.dumps(to_json(result), indent=2))
    else:
        click.echo("\n".join(render(result, headers)))


def _side(conn: Connection, ref: str) -> tuple[str, tuple[str, str]]:
    kind, record_id = resolve_execution(conn, ref)
    return kind, root_of(conn, kind, record_id)


def _header(conn: Connection, kind: str, ids: tuple[str, str]) -> str:
    execution_id, job_id = ids
    execution = queries.get_execution(conn, execution_id)
    if execution is None:
        return f"Exec {execution_id[:8]}"
    command = " ".join(execution.args[1:])
    line = (
        f"Exec {execution_id[:8]} {fmt_status(execution.status)} "
        f"{fmt_time(execution.start_time)}:  {command}"
    )
    return f"{line}  (Job {job_id[:8]})" if kind == "job" else line


def _node_id(node: CallTreeNode | None) -> str:
    if node is None:
        return "none"
    if node.job_id:
        return f"Job {node.job_id[:8]}"
    return f"CallNode {(node.call_hash or '?')[:8]}"


def render(result: ExecutionDiff, headers: list[str]) -> list[str]:
    """The lines of the text report."""
    lines = [f"--- {headers[0]}", f"+++ {headers[1]}", ""]
    if not result.changes:
        return lines + ["No differences: the two call trees match."]
    for change in result.changes:
        lines += _render_change(change)
    if result.code:
        lines += ["", "Task code changes:"]
        for code in result.code:
            lines.append(f"  {code.task_name} {code.before_hash[:8]} -> {code.after_hash[:8]}")
            diff_lines = code.diff or ["(same source: the version or hash_includes changed)"]
            lines += [f"    {line}" for line in diff_lines]
    counts = result.counts
    summary = (
        f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed "
        f"call(s); {len(result.code)} task(s) with changed code."
    )
    return lines + ["", summary]


def _render_change(change: CallChange) -> list[str]:
    path = " > ".join(change.path)
    mark = _MARKS[change.kind]
    if change.kind != "changed":
        return [f"{mark} {path}  {_node_id(change.node)}  {change.call}"]
    lines = [f"{mark} {path}  ({_node_id(change.before)} -> {_node_id(change.after)})"]
    width = max([len(arg.name) for arg in change.args] + [len("result")]) + 1
    for arg in change.args:
        before = "<absent>" if arg.before is None else arg.before
        after = "<absent>" if arg.after is None else arg.after
        lines.append(f"    {arg.name + ':':<{width}} {before} -> {after}")
    if change.result is not None:
        lines.append(f"    {'result:':<{width}} {change.result[0]} -> {change.result[1]}")
    if change.code_changed and change.before and change.after:
        hashes = f"{change.before.task_hash[:8]} -> {change.after.task_hash[:8]}"
        lines.append(f"    {'code:':<{width}} {hashes} (see below)")
    return lines


def _node_json(node: CallTreeNode | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {
        "task_name": node.task_name,
        "task_hash": node.task_hash,
        "job_id": node.job_id,
        "call_hash": node.call_hash,
    }


def to_json(result: ExecutionDiff) -> dict[str, Any]:
    """The report as a JSON document."""
    return {
        "before": {"execution_id": result.before, "root_job_id": result.before_root},
        "after": {"execution_id": result.after, "root_job_id": result.after_root},
        "identical": not result.changes,
        "counts": {kind: result.counts[kind] for kind in _MARKS},
        "same_calls": result.same_calls,
        "changes": [
            {
                "kind": change.kind,
                "path": change.path,
                "before": _node_json(change.before),
                "after": _node_json(change.after),
                "args": [
                    {"name": a.name, "before": a.before, "after": a.after} for a in change.args
                ],
                "result": (
                    {"before": change.result[0], "after": change.result[1]}
                    if change.result
                    else None
                ),
                "code_changed": change.code_changed,
                "call": change.call or None,
            }
            for change in result.changes
        ],
        "code": [
            {
                "task_name": code.task_name,
                "before_hash": code.before_hash,
                "after_hash": code.after_hash,
                "diff": "\n".join(code.diff),
            }
            for code in result.code
        ],
    }
