"""`redun diff`: compare the call trees of two executions (or two jobs' subtrees).

Calls are matched by position: the task names on the path from the root and, among
sibling calls of one task, the same call, else the same arguments, else call order.
Equal call hashes mean equal subtrees (the call hash covers the task, arguments, result
and every child call), so only the parts that differ are read. For each matched pair the
diff reports changed arguments, results and task code; calls found on one side only are
added or removed."""

from __future__ import annotations

import ast
import difflib
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from redun.backends.db import queries
from redun.backends.db.calltree import CallTree, CallTreeNode
from redun.backends.db.ids import chunks
from redun.backends.db.lookup import LookupFailed
from redun.backends.db.models import ERROR_VALUE_TYPE, TABLES

execution_t, job_t = TABLES["execution"], TABLES["job"]
task_t, value_t = TABLES["task"], TABLES["value"]


@dataclass
class ArgChange:
    """One argument that differs; a side is None when the call has no such argument."""

    name: str
    before: str | None
    after: str | None


@dataclass
class CallChange:
    """A call that is ``changed`` (in both), ``added`` (only in B) or ``removed`` (only in A)."""

    kind: str
    path: list[str]
    before: CallTreeNode | None
    after: CallTreeNode | None
    args: list[ArgChange] = field(default_factory=list)
    result: tuple[str, str] | None = None
    code_changed: bool = False
    call: str = ""  # ``task(args)`` of an added or removed call

    @property
    def node(self) -> CallTreeNode:
        node = self.after or self.before
        assert node is not None
        return node


@dataclass
class CodeChange:
    """A task whose code differs between the two sides, with a unified diff of its source."""

    task_name: str
    before_hash: str
    after_hash: str
    diff: list[str]


@dataclass
class ExecutionDiff:
    """Everything `redun diff` reports."""

    before: str  # execution ids
    after: str
    before_root: str | None  # root job ids
    after_root: str | None
    changes: list[CallChange]
    code: list[CodeChange]
    same_calls: int  # matched calls whose whole subtree is the same

    @property
    def counts(self) -> Counter:
        return Counter(change.kind for change in self.changes)


def root_of(conn: Connection, kind: str, record_id: str) -> tuple[str, str]:
    """(execution id, root job id) of an execution, or of a job's subtree."""
    if kind == "execution":
        job_id = conn.scalar(select(execution_t.c.job_id).where(execution_t.c.id == record_id))
        if job_id is None:
            raise LookupFailed(f"execution {record_id} has no root job in the record")
        return record_id, job_id
    execution_id = conn.scalar(select(job_t.c.execution_id).where(job_t.c.id == record_id))
    if execution_id is None:
        raise LookupFailed(f"job {record_id} is not in the record")
    return execution_id, record_id


def diff_calls(conn: Connection, before: tuple[str, str], after: tuple[str, str]) -> ExecutionDiff:
    """Compare the subtrees under two root jobs, each given as (execution id, root job id)."""
    trees = CallTree(conn, *before), CallTree(conn, *after)
    roots = trees[0].root, trees[1].root
    changes: list[CallChange] = []
    same = 0
    level: list[tuple[list[str], CallTreeNode, CallTreeNode]] = []
    if roots[0] and roots[1] and roots[0].task_name == roots[1].task_name:
        level.append(([roots[0].task_name], roots[0], roots[1]))
    else:  # roots of different tasks are not compared: one is removed, the other added
        changes += [CallChange("removed", [r.task_name], r, None) for r in roots[:1] if r]
        changes += [CallChange("added", [r.task_name], None, r) for r in roots[1:] if r]
    while level:  # breadth first: a few queries per level of the tree
        pairs = [(a, b) for _, a, b in level if not _same_subtree(a, b)]
        trees[0].expand([a for a, _ in pairs])
        trees[1].expand([b for _, b in pairs])
        next_level = []
        for path, a, b in level:
            if _same_subtree(a, b):
                same += 1
                continue
            change = CallChange("changed", path, a, b)
            change.code_changed = a.task_hash != b.task_hash
            if change.code_changed or a.args_hash != b.args_hash or a.value_hash != b.value_hash:
                changes.append(change)
            for label, child_a, child_b in _match_children(a.children or [], b.children or []):
                child_path = [*path, label]
                if child_a is not None and child_b is not None:
                    next_level.append((child_path, child_a, child_b))
                else:
                    kind = "added" if child_a is None else "removed"
                    changes.append(CallChange(kind, child_path, child_a, child_b))
        level = next_level
    _Details(conn).fill(changes)
    return ExecutionDiff(
        before=before[0],
        after=after[0],
        before_root=roots[0].job_id if roots[0] else None,
        after_root=roots[1].job_id if roots[1] else None,
        changes=changes,
        code=_code_changes(conn, changes),
        same_calls=same,
    )


def _same_subtree(a: CallTreeNode, b: CallTreeNode) -> bool:
    return a.call_hash is not None and a.call_hash == b.call_hash


def _match_children(
    a_children: list[CallTreeNode], b_children: list[CallTreeNode]
) -> list[tuple[str, CallTreeNode | None, CallTreeNode | None]]:
    """Pair the children of two matched calls: calls of one task pair up first by equal call
    hash, then by equal arguments, then in call order. Labels are ``task``, or ``task[i]``
    (i-th call of that task) when a side calls the task more than once."""
    groups: dict[str, tuple[list[CallTreeNode], list[CallTreeNode]]] = {}
    for side, children in enumerate((a_children, b_children)):
        for child in children:
            groups.setdefault(child.task_name, ([], []))[side].append(child)
    pairs = []
    for name, (a_nodes, b_nodes) in groups.items():
        matched = _pair_up(a_nodes, b_nodes)
        repeated = len(a_nodes) > 1 or len(b_nodes) > 1
        for a_index, b_index in matched:
            index = b_index if b_index is not None else a_index
            label = f"{name}[{index}]" if repeated else name
            a = a_nodes[a_index] if a_index is not None else None
            b = b_nodes[b_index] if b_index is not None else None
            pairs.append((label, a, b))
    return pairs


def _pair_up(
    a_nodes: list[CallTreeNode], b_nodes: list[CallTreeNode]
) -> list[tuple[int | None, int | None]]:
    """Index pairs (None: no partner), in B's order with A's leftovers last."""
    partner: dict[int, int] = {}  # b index -> a index
    free_a = list(range(len(a_nodes)))
    for key in ("call_hash", "args_hash", None):
        free_b = [i for i in range(len(b_nodes)) if i not in partner]
        if key is None:  # whatever is left, in call order
            for a_index, b_index in zip(free_a, free_b):
                partner[b_index] = a_index
            free_a = free_a[len(free_b) :]
            break
        waiting: dict[str, list[int]] = {}
        for b_index in free_b:
            value = getattr(b_nodes[b_index], key)
            if value is not None:
                waiting.setdefault(value, []).append(b_index)
        left = []
        for a_index in free_a:
            candidates = waiting.get(getattr(a_nodes[a_index], key) or "")
            if candidates:
                partner[candidates.pop(0)] = a_index
            else:
                left.append(a_index)
        free_a = left
    pairs: list[tuple[int | None, int | None]] = [
        (partner.get(b_index), b_index) for b_index in range(len(b_nodes))
    ]
    return pairs + [(a_index, None) for a_index in free_a]


class _Details:
    """Arguments, results and calls of the reported changes, read in bulk."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def fill(self, changes: list[CallChange]) -> None:
        nodes = [n for c in changes for n in (c.before, c.after) if n is not None]
        call_hashes = [n.call_hash for n in nodes if n.call_hash]
        args = queries.get_call_args(self.conn, call_hashes)
        params = _param_names(self.conn, [n.task_hash for n in nodes])
        values = self._values([n.value_hash for n in nodes if n.value_hash])
        for change in changes:
            if change.kind != "changed":
                node = change.node
                call_args = args.get(node.call_hash or "", [])
                change.call = f"{node.task_name}({queries.format_args(call_args)})"
                continue
            a, b = change.before, change.after
            assert a is not None and b is not None
            if a.args_hash != b.args_hash and a.call_hash and b.call_hash:
                change.args = _arg_changes(
                    _named_args(args.get(a.call_hash or "", []), params.get(a.task_hash)),
                    _named_args(args.get(b.call_hash or "", []), params.get(b.task_hash)),
                )
            if a.value_hash != b.value_hash:
                missing = "<missing value>"
                change.result = (
                    values.get(a.value_hash, missing),
                    values.get(b.value_hash, missing),
                )

    def _values(self, value_hashes: list[str]) -> dict[str | None, str]:
        previews: dict[str | None, str] = {None: "<not finished>"}
        for chunk in chunks(list(dict.fromkeys(value_hashes))):
            query = select(value_t.c.value_hash, value_t.c.type, value_t.c.value).where(
                value_t.c.value_hash.in_(chunk)
            )
            for value_hash, type_name, data in self.conn.execute(query):
                preview = queries.preview_value(type_name, data)
                raised = type_name == ERROR_VALUE_TYPE
                previews[value_hash] = f"raised {preview}" if raised else preview
        return previews


def _param_names(conn: Connection, task_hashes: list[str]) -> dict[str, list[str]]:
    """Positional parameter names of each task, read from its recorded source."""
    names: dict[str, list[str]] = {}
    for task_hash, source in _sources(conn, task_hashes).items():
        try:
            tree = ast.parse(textwrap.dedent(source))
        except (SyntaxError, ValueError):
            continue
        func = next(
            (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
            None,
        )
        if func is not None:
            names[task_hash] = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    return names


def _sources(conn: Connection, task_hashes: list[str]) -> dict[str, str]:
    sources: dict[str, str] = {}
    for chunk in chunks(list(dict.fromkeys(h for h in task_hashes if h))):
        query = select(task_t.c.hash, task_t.c.source).where(task_t.c.hash.in_(chunk))
        sources.update((task_hash, source or "") for task_hash, source in conn.execute(query))
    return sources


def _named_args(
    args: list[queries.ArgInfo], params: list[str] | None
) -> dict[str, queries.ArgInfo]:
    """Arguments by parameter name (positional ones named from the task's source)."""
    named = {}
    for arg in args:
        if arg.key is not None:
            name = arg.key
        elif params and arg.position is not None and arg.position < len(params):
            name = params[arg.position]
        else:
            name = f"arg {arg.position}"
        named[name] = arg
    return named


def _arg_changes(a: dict[str, Any], b: dict[str, Any]) -> list[ArgChange]:
    changes = []
    for name in dict.fromkeys([*a, *b]):
        arg_a, arg_b = a.get(name), b.get(name)
        hash_a = arg_a.value_hash if arg_a else None
        hash_b = arg_b.value_hash if arg_b else None
        if hash_a != hash_b:
            changes.append(
                ArgChange(name, arg_a.preview if arg_a else None, arg_b.preview if arg_b else None)
            )
    return changes


def _code_changes(conn: Connection, changes: list[CallChange]) -> list[CodeChange]:
    """One entry per pair of task hashes, with the unified diff of their sources."""
    pairs: dict[tuple[str, str], str] = {}
    for change in changes:
        if change.code_changed and change.before and change.after:
            key = (change.before.task_hash, change.after.task_hash)
            pairs.setdefault(key, change.after.task_name)
    sources = _sources(conn, [h for pair in pairs for h in pair])
    code = []
    for (hash_a, hash_b), name in pairs.items():
        diff = difflib.unified_diff(
            sources.get(hash_a, "").splitlines(),
            sources.get(hash_b, "").splitlines(),
            fromfile=f"{name} {hash_a[:8]}",
            tofile=f"{name} {hash_b[:8]}",
            lineterm="",
        )
        code.append(CodeChange(name, hash_a, hash_b, list(diff)))
    return code
