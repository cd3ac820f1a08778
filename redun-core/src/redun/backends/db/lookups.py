"""The cache's evaluation lookup in plain SQL (standard library only).

Run by the cache reader on its own cursor, or, for a SQLite file, by the lookup
process (sqlite_worker.py), which imports this module without the rest of redun.

Besides the evaluation's value, a lookup tells whether the record holds the call
node a job reusing it would have if its task returned that value outright (a
call without children): a job reusing such an evaluation then has its call hash
and nothing to record about its call.
"""

from __future__ import annotations

from typing import Any

from redun.backends.db.rawsql import chunks
from redun.hashing import hash_call_node

# (eval_hash, value_hash, value type, value data, call hash of the recorded leaf call or None)
EvaluationRow = tuple[str, str, str, bytes, "str | None"]

_EVALUATIONS_SQL = (
    "SELECT evaluation.eval_hash, evaluation.task_hash, evaluation.args_hash, "
    "value.value_hash, value.type, value.value "
    "FROM evaluation JOIN value ON value.value_hash = evaluation.value_hash "
    "WHERE evaluation.eval_hash IN ({marks})"
)
_CALLS_SQL = "SELECT call_hash FROM call_node WHERE call_hash IN ({marks})"


def find_evaluations(cursor: Any, eval_hashes: list[str], mark: str) -> list[EvaluationRow]:
    """The evaluations recorded among ``eval_hashes`` (``mark``: the driver's placeholder)."""
    found = []
    for chunk in chunks(eval_hashes):
        cursor.execute(_EVALUATIONS_SQL.format(marks=", ".join([mark] * len(chunk))), chunk)
        found.extend(cursor.fetchall())
    leaf_calls = [
        hash_call_node(task_hash, args_hash, value_hash, [])
        for _, task_hash, args_hash, value_hash, _, _ in found
    ]
    recorded: set[str] = set()
    for chunk in chunks(leaf_calls):
        cursor.execute(_CALLS_SQL.format(marks=", ".join([mark] * len(chunk))), chunk)
        recorded.update(row[0] for row in cursor.fetchall())
    return [
        (row[0], row[3], row[4], row[5], call if call in recorded else None)
        for row, call in zip(found, leaf_calls)
    ]
