"""Provenance over the record: where a value came from, and which job made a file.

The upstream dataflow of a call starts at its result and explains every argument on the
way up: an argument came from a sibling call's result (the ``argument_result`` table), was
passed down from the parent call's own argument, or originated in the parent's body (a
literal, or a value the record does not trace). The walk is breadth-first and bounded.
"""

from __future__ import annotations

import ast
import os
import textwrap
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from redun.backends.db import queries
from redun.backends.db.queries import (
    JOB_COLUMNS,
    JobInfo,
    argument_result_t,
    argument_t,
    call_edge_t,
    call_node_t,
    file_t,
    job_t,
    subvalue_t,
    value_t,
)

MAX_STEPS = 40  # variables explained per walk
MAX_HOPS = 100  # links in one variable's chain (calls passing a value down)
MAX_CANDIDATES = 200  # jobs considered when looking for a file's producer


@dataclass
class FlowArg:
    """A variable a call introduces: one of its arguments."""

    name: str
    value_hash: str
    preview: str


@dataclass
class FlowCall:
    """A call in the dataflow; ``args`` is empty when it was listed in an earlier step."""

    call_hash: str
    task_name: str
    params: list[str]
    args: list[FlowArg] = field(default_factory=list)
    shown_before: bool = False


@dataclass
class FlowLink:
    """One hop: ``call`` (the value is that call's result), ``argument`` (the value was
    passed to ``call`` as its parameter ``param``) or ``origin`` (no further upstream)."""

    kind: str
    call: FlowCall | None = None
    param: str | None = None


@dataclass
class FlowStep:
    """Where the variable ``var`` came from, as a chain of links."""

    var: str
    links: list[FlowLink]


@dataclass
class Dataflow:
    """The upstream dataflow of a call's result (``var`` "result") or a value ("value")."""

    var: str
    value_hash: str
    preview: str
    steps: list[FlowStep]
    truncated: bool = False


@dataclass
class _Arg:
    arg_hash: str
    position: int | None
    key: str | None
    value_hash: str
    preview: str
    upstream: list[str]


@dataclass
class _Call:
    call_hash: str
    task_name: str
    task_hash: str
    value_hash: str
    args: list[_Arg]


def param_names(source: str | None) -> list[str]:
    """Positional parameter names of the first function defined in ``source``."""
    if not source:
        return []
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError):
        return []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    return []


class _Walker:
    """Loads calls lazily (cached) and explains variables breadth-first."""

    def __init__(self, conn: Connection, parent_hints: dict[str, str | None]) -> None:
        self.conn = conn
        self.calls: dict[str, _Call | None] = {}
        self.params: dict[str, list[str]] = {}
        self.parents: dict[str, str | None] = dict(parent_hints)
        self.expanded: dict[str, list[str]] = {}
        self.used: dict[str, int] = {}
        self.queue: deque[tuple[str, tuple]] = deque()

    # Loading ----------------------------------------------------------------------------
    def load(self, call_hash: str) -> _Call | None:
        if call_hash in self.calls:
            return self.calls[call_hash]
        conn = self.conn
        row = conn.execute(
            select(
                call_node_t.c.task_name, call_node_t.c.task_hash, call_node_t.c.value_hash
            ).where(call_node_t.c.call_hash == call_hash)
        ).first()
        call = None
        if row is not None:
            upstream: dict[str, list[str]] = {}
            ups = (
                select(argument_result_t.c.arg_hash, argument_result_t.c.result_call_hash)
                .join(argument_t, argument_t.c.arg_hash == argument_result_t.c.arg_hash)
                .where(argument_t.c.call_hash == call_hash)
            )
            for arg_hash, result_call in conn.execute(ups):
                upstream.setdefault(arg_hash, []).append(result_call)
            args = [
                _Arg(
                    a.arg_hash,
                    a.position,
                    a.key,
                    a.value_hash,
                    a.preview,
                    upstream.get(a.arg_hash, []),
                )
                for a in queries.get_call_args(conn, [call_hash]).get(call_hash, [])
            ]
            call = _Call(call_hash, row.task_name, row.task_hash, row.value_hash, args)
        self.calls[call_hash] = call
        return call

    def parent_of(self, call_hash: str) -> str | None:
        """The call that made this call: from the context we came from, else the record."""
        if call_hash not in self.parents:
            row = self.conn.execute(
                select(call_edge_t.c.parent_id)
                .join(call_node_t, call_node_t.c.call_hash == call_edge_t.c.parent_id)
                .where(call_edge_t.c.child_id == call_hash)
                .order_by(call_node_t.c.timestamp.desc())
                .limit(1)
            ).first()
            self.parents[call_hash] = row[0] if row is not None else None
        return self.parents[call_hash]

    def route(self, call_hash: str) -> str:
        """The call that really computed this call's result (a task returning another
        call's result hands it up unchanged: follow such children down)."""
        for _ in range(MAX_HOPS):
            call = self.load(call_hash)
            if call is None:
                break
            child = self.conn.execute(
                select(call_edge_t.c.child_id)
                .join(call_node_t, call_node_t.c.call_hash == call_edge_t.c.child_id)
                .where(
                    call_edge_t.c.parent_id == call_hash,
                    call_node_t.c.value_hash == call.value_hash,
                )
                .order_by(call_edge_t.c.call_order.desc())
                .limit(1)
            ).first()
            if child is None or child[0] == call_hash:
                break
            self.parents.setdefault(child[0], call_hash)
            call_hash = child[0]
        return call_hash

    def names(self, call: _Call) -> list[str]:
        """Parameter names of the call's arguments (from its task's source)."""
        if call.task_hash not in self.params:
            task = queries.get_task(self.conn, call.task_hash)
            self.params[call.task_hash] = param_names(task.source if task else None)
        params = self.params[call.task_hash]
        return [
            a.key
            if a.key is not None
            else (
                params[a.position]
                if a.position is not None and a.position < len(params)
                else f"arg{a.position}"
            )
            for a in call.args
        ]

    # Walking ----------------------------------------------------------------------------
    def allocate(self, name: str) -> str:
        count = self.used.get(name, 0) + 1
        self.used[name] = count
        return name if count == 1 else f"{name}_{count}"

    def expand(self, call_hash: str) -> FlowCall:
        """A call link; the first time, its arguments become variables to explain."""
        call = self.load(call_hash)
        if call is None:
            return FlowCall(call_hash, "?", [])
        if call_hash in self.expanded:
            return FlowCall(call_hash, call.task_name, self.expanded[call_hash], shown_before=True)
        variables = [self.allocate(name) for name in self.names(call)]
        self.expanded[call_hash] = variables
        for var, arg in zip(variables, call.args):
            self.queue.append((var, ("arg", call_hash, arg)))
        args = [FlowArg(v, a.value_hash, a.preview) for v, a in zip(variables, call.args)]
        return FlowCall(call_hash, call.task_name, variables, args)

    def chain(self, item: tuple) -> list[FlowLink]:
        """The links explaining one variable."""
        links: list[FlowLink] = []
        for _ in range(MAX_HOPS):
            if item[0] == "result":
                call = self.expand(self.route(item[1]))
                links.append(FlowLink("call", call))
                if not call.params and not call.shown_before:  # nothing flows into it
                    links.append(FlowLink("origin"))
                return links
            _, call_hash, arg = item
            if arg.upstream:  # a sibling call's result: siblings share the parent
                upstream = arg.upstream[0]
                self.parents.setdefault(upstream, self.parent_of(call_hash))
                item = ("result", upstream)
                continue
            parent_hash = self.parent_of(call_hash)
            parent = self.load(parent_hash) if parent_hash else None
            if parent is None:
                break
            match = next((a for a in parent.args if a.value_hash == arg.value_hash), None)
            if match is None:
                break
            flow_call = FlowCall(parent.call_hash, parent.task_name, self.names(parent))
            param = flow_call.params[parent.args.index(match)]
            links.append(FlowLink("argument", flow_call, param))
            item = ("arg", parent.call_hash, match)
        links.append(FlowLink("origin"))
        return links

    def walk(self, var: str, value_hash: str, preview: str, start: tuple | None) -> Dataflow:
        self.used[var] = 1
        flow = Dataflow(var, value_hash, preview, [])
        if start is None:
            flow.steps.append(FlowStep(var, [FlowLink("origin")]))
            return flow
        self.queue.append((var, start))
        while self.queue:
            if len(flow.steps) >= MAX_STEPS:
                flow.truncated = True
                break
            name, item = self.queue.popleft()
            flow.steps.append(FlowStep(name, self.chain(item)))
        return flow


def call_dataflow(
    conn: Connection, call_hash: str, ancestry: Sequence[str] = ()
) -> Dataflow | None:
    """The upstream dataflow of a call's result.

    ``ancestry`` is the chain of call hashes from the root call down to this one (from the
    job tree), which picks the parent when a call node was made under several.
    """
    hints: dict[str, str | None] = {}
    for parent, child in zip(ancestry, ancestry[1:]):
        hints[child] = parent
    walker = _Walker(conn, hints)
    call = walker.load(call_hash)
    if call is None:
        return None
    found = queries.get_value(conn, call.value_hash)
    preview = found[1] if found else "<missing value>"
    return walker.walk("result", call.value_hash, preview, ("result", call_hash))


def value_dataflow(conn: Connection, value_hash: str) -> Dataflow | None:
    """The upstream dataflow of a value: from the newest call that returned it."""
    found = queries.get_value(conn, value_hash)
    if found is None:
        return None
    row = conn.execute(
        select(call_node_t.c.call_hash)
        .where(call_node_t.c.value_hash == value_hash)
        .order_by(call_node_t.c.timestamp.desc())
        .limit(1)
    ).first()
    start = ("result", row[0]) if row is not None else None
    return _Walker(conn, {}).walk("value", value_hash, found[1], start)


# Files ------------------------------------------------------------------------------------
def path_candidates(path: str, cwd: str | None = None) -> list[str]:
    """Spellings a recorded File may have for ``path``: as given, normalized, absolute
    and relative to ``cwd`` (URLs only as given)."""
    if "://" in path:
        return [path]
    cwd = cwd or os.getcwd()
    absolute = os.path.normpath(os.path.join(cwd, path))
    spellings = [path, os.path.normpath(path), absolute, os.path.relpath(absolute, cwd)]
    return list(dict.fromkeys(spellings))


def files_at(conn: Connection, path: str) -> list[tuple[str, str]]:
    """(value_hash, path) of the recorded File values at ``path``."""
    stmt = select(file_t.c.value_hash, file_t.c.path).where(
        file_t.c.path.in_(path_candidates(path))
    )
    return [(value_hash, stored) for value_hash, stored in conn.execute(stmt)]


def file_producers(conn: Connection, value_hashes: list[str]) -> list[tuple[JobInfo, str]]:
    """Jobs that produced one of these File values, best first, each with that value.

    Best: the call whose result is the file (not a call that got it back from a child or
    as an argument, nor one returning a container holding it), run rather than cached,
    newest.
    """
    if not value_hashes:
        return []
    files = set(value_hashes)
    held: dict[str, str] = {h: h for h in value_hashes}  # result value -> the file in it
    nested = select(subvalue_t.c.parent_value_hash, subvalue_t.c.value_hash).where(
        subvalue_t.c.value_hash.in_(value_hashes)
    )
    for container, file_hash in conn.execute(nested):
        held.setdefault(container, file_hash)
    stmt = (
        select(job_t.c.id, job_t.c.call_hash, call_node_t.c.value_hash)
        .join(call_node_t, call_node_t.c.call_hash == job_t.c.call_hash)
        .where(call_node_t.c.value_hash.in_(list(held)))
        .order_by(job_t.c.start_time.desc())
        .limit(MAX_CANDIDATES)
    )
    rows = conn.execute(stmt).all()
    if not rows:
        return []
    results = {call_hash: result for _, call_hash, result in rows}
    calls = list(results)
    routers = {
        parent
        for (parent,) in conn.execute(
            select(call_edge_t.c.parent_id)
            .join(call_node_t, call_node_t.c.call_hash == call_edge_t.c.child_id)
            .where(call_edge_t.c.parent_id.in_(calls), call_node_t.c.value_hash.in_(list(held)))
        )
    }
    takers = {
        call
        for (call,) in conn.execute(
            select(argument_t.c.call_hash).where(
                argument_t.c.call_hash.in_(calls), argument_t.c.value_hash.in_(value_hashes)
            )
        )
    }
    order = {job_id: i for i, (job_id, _, _) in enumerate(rows)}  # newest first
    jobs = queries.read_jobs(conn, select(*JOB_COLUMNS).where(job_t.c.id.in_(list(order))))

    def rank(job: JobInfo) -> tuple:
        call = job.call_hash or ""
        direct = results.get(call) in files
        return (call in routers, call in takers, not direct, job.cached, order[job.id])

    return [(job, held[results[job.call_hash or ""]]) for job in sorted(jobs, key=rank)]


def describe_value(conn: Connection, value_hash: str) -> tuple[str, Any] | None:
    """(type, value) of a stored value (the value None when it cannot be read here)."""
    row = conn.execute(
        select(value_t.c.type, value_t.c.value).where(value_t.c.value_hash == value_hash)
    ).first()
    return (row.type, queries.load_value(row.type, row.value)) if row is not None else None
