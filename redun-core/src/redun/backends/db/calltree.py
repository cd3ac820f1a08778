"""One execution's tree of calls, loaded lazily: its jobs first, the call graph for the rest.

A node's children are its child calls in call order (``call_edge.call_order``; a call
reused by several executions may have its children recorded in more than one order), each
paired with the job of this execution that made it when there is one. Subtrees reused
whole from the cache have no jobs; their calls come from the call graph. Jobs that never
finished (no call node) follow, by start time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from redun.backends.db.ids import chunks
from redun.backends.db.joblines import full_name
from redun.backends.db.models import TABLES

job_t, task_t = TABLES["job"], TABLES["task"]
call_node_t, call_edge_t = TABLES["call_node"], TABLES["call_edge"]


@dataclass
class CallTreeNode:
    """One call of the tree; ``call_hash`` is None for a job that never finished."""

    task_name: str
    task_hash: str
    call_hash: str | None = None
    job_id: str | None = None
    args_hash: str | None = None
    value_hash: str | None = None
    children: list[CallTreeNode] | None = None  # None until expanded


@dataclass
class _Job:
    id: str
    task_hash: str
    call_hash: str | None


class CallTree:
    """The calls under one root job (an execution's root, or any job's subtree)."""

    def __init__(self, conn: Connection, execution_id: str, root_job_id: str) -> None:
        self.conn = conn
        self._children: dict[str | None, list[_Job]] = defaultdict(list)
        query = (
            select(job_t.c.id, job_t.c.parent_id, job_t.c.task_hash, job_t.c.call_hash)
            .where(job_t.c.execution_id == execution_id)
            .order_by(job_t.c.start_time)
        )
        root: _Job | None = None
        for job_id, parent_id, task_hash, call_hash in conn.execute(query):
            job = _Job(job_id, task_hash, call_hash)
            self._children[parent_id].append(job)
            if job_id == root_job_id:
                root = job
        self._task_names = self._load_task_names(
            [job.task_hash for jobs in self._children.values() for job in jobs]
        )
        self._calls: dict[str, Any] = {}
        self.root: CallTreeNode | None = None
        if root is not None:
            self._load_calls([root.call_hash] if root.call_hash else [])
            self.root = self._job_node(root)

    def expand(self, nodes: list[CallTreeNode]) -> None:
        """Load the children of every node not yet expanded (a few queries in all)."""
        todo = [node for node in nodes if node.children is None]
        edges = self._child_calls([n.call_hash for n in todo if n.call_hash])
        self._load_calls([child for children in edges.values() for child in children])
        for node in todo:
            jobs = self._children.get(node.job_id, []) if node.job_id else []
            by_call: dict[str, list[_Job]] = defaultdict(list)
            for job in jobs:
                if job.call_hash:
                    by_call[job.call_hash].append(job)
            used: set[str] = set()
            children: list[CallTreeNode] = []
            for call_hash in edges.get(node.call_hash, []) if node.call_hash else []:
                matches = by_call.get(call_hash)
                if matches:
                    job = matches.pop(0)
                    used.add(job.id)
                    children.append(self._job_node(job))
                else:  # reused whole from the cache: no job of this execution made it
                    children.append(self._call_node(call_hash))
            children.extend(self._job_node(job) for job in jobs if job.id not in used)
            node.children = children

    # Loading ------------------------------------------------------------------------
    def _child_calls(self, call_hashes: list[str]) -> dict[str, list[str]]:
        edges: dict[str, list[str]] = defaultdict(list)
        for chunk in chunks(list(dict.fromkeys(call_hashes))):
            query = (
                select(call_edge_t.c.parent_id, call_edge_t.c.child_id)
                .where(call_edge_t.c.parent_id.in_(chunk))
                .order_by(call_edge_t.c.parent_id, call_edge_t.c.call_order)
            )
            for parent_id, child_id in self.conn.execute(query):
                edges[parent_id].append(child_id)
        # Executions that reuse a call may record its children in another order: keep each
        # child once, at its first place.
        return {parent: list(dict.fromkeys(children)) for parent, children in edges.items()}

    def _load_calls(self, call_hashes: list[str]) -> None:
        todo = [h for h in dict.fromkeys(call_hashes) if h not in self._calls]
        for chunk in chunks(todo):
            query = select(
                call_node_t.c.call_hash,
                call_node_t.c.task_name,
                call_node_t.c.task_hash,
                call_node_t.c.args_hash,
                call_node_t.c.value_hash,
            ).where(call_node_t.c.call_hash.in_(chunk))
            for row in self.conn.execute(query):
                self._calls[row.call_hash] = row

    def _load_task_names(self, task_hashes: list[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(task_hashes))):
            query = select(task_t.c.hash, task_t.c.name, task_t.c.namespace).where(
                task_t.c.hash.in_(chunk)
            )
            for task_hash, name, namespace in self.conn.execute(query):
                names[task_hash] = full_name(name, namespace)
        return names

    def _task_name(self, task_hash: str, fallback: str | None = None) -> str:
        return self._task_names.get(task_hash) or fallback or task_hash[:8]

    def _job_node(self, job: _Job) -> CallTreeNode:
        call = self._calls.get(job.call_hash) if job.call_hash else None
        return CallTreeNode(
            task_name=self._task_name(job.task_hash, call.task_name if call else None),
            task_hash=job.task_hash,
            call_hash=job.call_hash,
            job_id=job.id,
            args_hash=call.args_hash if call else None,
            value_hash=call.value_hash if call else None,
        )

    def _call_node(self, call_hash: str) -> CallTreeNode:
        call = self._calls.get(call_hash)
        if call is None:  # an edge to a call the record lacks
            return CallTreeNode(task_name="?", task_hash="", call_hash=call_hash, children=[])
        return CallTreeNode(
            task_name=self._task_name(call.task_hash, call.task_name),
            task_hash=call.task_hash,
            call_hash=call_hash,
            args_hash=call.args_hash,
            value_hash=call.value_hash,
        )
