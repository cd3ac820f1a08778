"""The rows one execution needs, so that it can be exported (and reused as cache) alone:
its jobs, every call node below them, their arguments, values (with subvalues, files
and handles), tasks, evaluations and tags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Column, Connection, select

from redun.backends.db.models import TABLES
from redun.backends.db.sync.tables import Key
from redun.backends.db.sync.writes import KEYS_PER_QUERY, chunked
from redun.hashing import hash_eval


def _rows(conn: Connection, column: Column, values: Iterable[str], *wanted: Column) -> list:
    """Rows (``wanted`` columns) whose ``column`` is among ``values``."""
    items = sorted(set(values))
    rows: list = []
    for chunk in chunked(items, KEYS_PER_QUERY):
        rows.extend(conn.execute(select(*wanted).where(column.in_(chunk))).all())
    return rows


def _expand(conn: Connection, start: set[str], column: Column, target: Column) -> set[str]:
    """Everything reachable from ``start`` by following ``column`` -> ``target`` rows."""
    found, frontier = set(start), set(start)
    while frontier:
        reached = {row[0] for row in _rows(conn, column, frontier, target)}
        frontier = reached - found
        found |= frontier
    return found


def execution_selection(conn: Connection, exec_ids: Sequence[str]) -> dict[str, set[Key]]:
    """Keys per table of everything the executions ``exec_ids`` (full ids) need."""
    t = TABLES
    job, call, edge = t["job"], t["call_node"], t["call_edge"]
    jobs = _rows(conn, job.c.execution_id, exec_ids, job.c.id, job.c.task_hash, job.c.call_hash)
    tasks = {row.task_hash for row in jobs}
    start = {row.call_hash for row in jobs if row.call_hash}
    calls = _expand(conn, start, edge.c.parent_id, edge.c.child_id)
    call_rows = _rows(
        conn, call.c.call_hash, calls, call.c.task_hash, call.c.args_hash, call.c.value_hash
    )
    tasks |= {row.task_hash for row in call_rows}
    values = {row.value_hash for row in call_rows}
    edges = _rows(
        conn, edge.c.parent_id, calls, edge.c.parent_id, edge.c.child_id, edge.c.call_order
    )
    subtree = t["call_subtree_task"]
    subtree_rows = _rows(conn, subtree.c.call_hash, calls, subtree.c.call_hash, subtree.c.task_hash)
    tasks |= {row.task_hash for row in subtree_rows}
    arg, result = t["argument"], t["argument_result"]
    args = _rows(conn, arg.c.call_hash, calls, arg.c.arg_hash, arg.c.value_hash)
    values |= {row.value_hash for row in args}
    results = [
        row
        for row in _rows(conn, result.c.arg_hash, [a.arg_hash for a in args], *result.c)
        if row.result_call_hash in calls
    ]
    evaluation = t["evaluation"]
    eval_hashes = {hash_eval(row.task_hash, row.args_hash) for row in call_rows}
    evals = _rows(conn, evaluation.c.eval_hash, eval_hashes, *evaluation.c)
    tasks |= {row.task_hash for row in evals}
    values |= {row.value_hash for row in evals} | tasks  # a task is stored as a value too
    handles = _handles(conn, values)
    values |= {row.value_hash for row in handles[0]}
    sub = t["subvalue"]
    values = _expand(conn, values, sub.c.parent_value_hash, sub.c.value_hash)
    values = {
        row[0] for row in _rows(conn, t["value"].c.value_hash, values, t["value"].c.value_hash)
    }
    subvalues = [
        r for r in _rows(conn, sub.c.parent_value_hash, values, *sub.c) if r.value_hash in values
    ]
    files = _rows(conn, t["file"].c.value_hash, values, t["file"].c.value_hash)
    tasks = {row[0] for row in _rows(conn, t["task"].c.hash, tasks, t["task"].c.hash)}
    entities = {*exec_ids, *(row.id for row in jobs), *calls, *tasks, *values}
    tag, tag_edit = t["tag"], t["tag_edit"]
    tags = {row[0] for row in _rows(conn, tag.c.entity_id, entities, tag.c.tag_hash)}
    edits = [r for r in _rows(conn, tag_edit.c.child_id, tags, *tag_edit.c) if r.parent_id in tags]
    return {
        "execution": {(exec_id,) for exec_id in exec_ids},
        "job": {(row.id,) for row in jobs},
        "call_node": {(call_hash,) for call_hash in calls},
        "call_edge": {tuple(row) for row in edges if row.child_id in calls},
        "call_subtree_task": {tuple(row) for row in subtree_rows},
        "argument": {(row.arg_hash,) for row in args},
        "argument_result": {tuple(row) for row in results},
        "evaluation": {(row.eval_hash,) for row in evals},
        "task": {(task_hash,) for task_hash in tasks},
        "value": {(value_hash,) for value_hash in values},
        "subvalue": {tuple(row) for row in subvalues},
        "file": {tuple(row) for row in files},
        "handle": {(row.hash,) for row in handles[0]},
        "handle_edge": {tuple(row) for row in handles[1]},
        "tag": {(tag_hash,) for tag_hash in tags},
        "tag_edit": {tuple(row) for row in edits},
    }


def _handles(conn: Connection, values: set[str]) -> tuple[list, list]:
    """Handle rows among ``values`` with their ancestors, and the edges between them."""
    handle, edge = TABLES["handle"], TABLES["handle_edge"]
    start = {row[0] for row in _rows(conn, handle.c.hash, values, handle.c.hash)}
    hashes = _expand(conn, start, edge.c.child_id, edge.c.parent_id)
    rows = _rows(conn, handle.c.hash, hashes, handle.c.hash, handle.c.value_hash)
    edges = [r for r in _rows(conn, edge.c.child_id, hashes, *edge.c) if r.parent_id in hashes]
    return rows, edges


def resolve_executions(conn: Connection, prefixes: Sequence[str]) -> list[str]:
    """Full execution ids for ids or unique prefixes (``-``: the latest execution).

    Raises LookupError naming an id that matches no execution or more than one.
    """
    from redun.backends.db.queries import latest_execution_id

    column = TABLES["execution"].c.id
    ids: list[str] = []
    for prefix in prefixes:
        if prefix == "-":
            latest = latest_execution_id(conn)
            if latest is None:
                raise LookupError("there are no executions yet")
            ids.append(latest)
            continue
        query = select(column).where(column.startswith(prefix, autoescape=True)).limit(2)
        found = list(conn.scalars(query))
        if prefix in found or len(found) == 1:
            ids.append(prefix if prefix in found else found[0])
        elif found:
            raise LookupError(f"execution id {prefix!r} is ambiguous; give more characters")
        else:
            raise LookupError(f"no execution has id {prefix!r}; see `redun log`")
    return list(dict.fromkeys(ids))
