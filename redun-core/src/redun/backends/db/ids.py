"""Records by id or id prefix: executions, jobs, call nodes, tasks and values."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, and_, select

from redun.backends.db.models import TABLES
from redun.backends.db.rawsql import chunks as chunks  # re-exported for the query modules

RECORD_KINDS = ("execution", "job", "call_node", "task", "value")
KIND_LABELS = {
    "execution": "execution",
    "job": "job",
    "call_node": "call node",
    "task": "task",
    "value": "value",
}
ID_PATTERN = re.compile(r"[0-9A-Za-z-]+")
ID_COLUMNS = {
    "execution": TABLES["execution"].c.id,
    "job": TABLES["job"].c.id,
    "call_node": TABLES["call_node"].c.call_hash,
    "task": TABLES["task"].c.hash,
    "value": TABLES["value"].c.value_hash,
}


def match_ids(conn: Connection, prefix: str, limit: int = 3) -> list[tuple[str, str]]:
    """(kind, id) of records whose id starts with ``prefix``, in every kind.

    At most ``limit`` ids per kind, kinds in the order execution, job, call_node, task,
    value. A task is also a value with the same hash: that pair counts as one record.
    """
    if not ID_PATTERN.fullmatch(prefix):
        return []
    matches: list[tuple[str, str]] = []
    for kind in RECORD_KINDS:
        column = ID_COLUMNS[kind]
        query = select(column).where(prefix_clause(conn, column, prefix))
        for found in conn.scalars(query.order_by(column).limit(limit)):
            if kind == "value" and ("task", found) in matches:
                continue
            matches.append((kind, found))
    return matches


def find_records(conn: Connection, prefix: str, limit: int = 2) -> tuple[str, list[str]]:
    """Ids matching ``prefix`` in the first kind of record that has any.

    Returns (kind, ids), at most ``limit`` ids; ("", []) when nothing matches.
    """
    matches = match_ids(conn, prefix, limit)
    if not matches:
        return "", []
    kind = matches[0][0]
    return kind, [found for k, found in matches if k == kind]


def prefix_clause(conn: Connection, column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``.

    SQLite uses its primary-key index for a range, not for LIKE; PostgreSQL's
    varchar_pattern_ops indexes serve LIKE. Ids hold only [0-9A-Za-z-], all below "~".
    """
    if conn.dialect.name == "sqlite":
        return and_(column >= prefix, column < prefix + "~")
    return column.like(f"{prefix}%")
