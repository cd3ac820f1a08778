"""Check that a run left a complete record and printed the right result."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from benchmarks.process import ProcessResult


@dataclass(frozen=True)
class Expected:
    """What a correct run prints and records.

    `jobs` and `call_nodes` are the row counts of the `job` and `call_node` tables after
    the run (cumulative over runs on the same repository); `jobs=None` means "at least one
    job per call node" (engines may or may not record a job for a reused subexpression).
    """

    result: str
    jobs: int | None
    call_nodes: int


# Rows that name a value the value table lacks (a call's result, an evaluation's, an argument).
_MISSING_VALUES_SQL = " + ".join(
    f"(SELECT count(*) FROM {table} WHERE value_hash NOT IN (SELECT value_hash FROM value))"
    for table in ("call_node", "evaluation", "argument")
)


def count_rows(db_path: Path) -> dict[str, int]:
    """Row counts of the `job` and `call_node` tables of a redun SQLite database, and
    (`missing_values`) how many call nodes, evaluations and arguments name a value the
    `value` table lacks."""
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("job", "call_node")
        }
        counts["missing_values"] = conn.execute(f"SELECT {_MISSING_VALUES_SQL}").fetchone()[0]
    return counts


def check_run(result: ProcessResult, db_path: Path, expected: Expected) -> str | None:
    """None when the printed result and the record are right, else what is wrong."""
    printed = result.last_stdout_line()
    if printed != expected.result:
        return f"printed {printed[:60]!r}, expected {expected.result!r}"
    if not db_path.exists():
        return f"no database at {db_path}"
    try:
        counts = count_rows(db_path)
    except sqlite3.Error as error:
        return f"cannot read {db_path}: {error}"
    if counts["call_node"] != expected.call_nodes:
        return f"call_node rows {counts['call_node']}, expected {expected.call_nodes}"
    if expected.jobs is None:
        if counts["job"] < expected.call_nodes:
            return f"job rows {counts['job']}, expected at least {expected.call_nodes}"
    elif counts["job"] != expected.jobs:
        return f"job rows {counts['job']}, expected {expected.jobs}"
    if counts["missing_values"]:
        return f"{counts['missing_values']} rows name a value the value table lacks"
    return None
