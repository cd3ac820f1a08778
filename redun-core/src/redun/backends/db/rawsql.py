"""Bulk inserts for the tables every job writes, as prepared DBAPI statements.

The SQL expression layer processes each bound row in Python (type coercion,
key lookups); for the hundreds of thousands of rows a large run writes, that
is most of the writer's time. These statements go to the driver directly,
with rows as tuples in column order. Rare tables (tasks, executions, tags)
still go through SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from operator import itemgetter
from typing import Any

# Columns per hot table, in the order the tuples carry them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "value": ("value_hash", "type", "format", "value"),
    "file": ("value_hash", "path"),
    "subvalue": ("value_hash", "parent_value_hash"),
    "call_node": ("call_hash", "task_name", "task_hash", "args_hash", "value_hash", "timestamp"),
    "call_edge": ("parent_id", "child_id", "call_order"),
    "call_subtree_task": ("call_hash", "task_hash"),
    "argument": ("arg_hash", "call_hash", "value_hash", "arg_position", "arg_key"),
    "argument_result": ("arg_hash", "result_call_hash"),
    "evaluation": ("eval_hash", "task_hash", "args_hash", "value_hash"),
    "job": (
        "id", "start_time", "end_time", "task_hash", "cached", "call_hash", "parent_id",
        "execution_id",
    ),
}  # fmt: skip
_TIME_COLUMNS = {"timestamp", "start_time", "end_time", "b_end_time"}
_UPSERT_KEYS = {"evaluation": "eval_hash"}
JOB_UPDATE_COLUMNS = ("b_end_time", "b_call_hash", "b_cached", "b_id")


def _sqlite_time(value: dt.datetime | None) -> str | None:
    # The text form SQLAlchemy (and so redun 0.44) stores: always with microseconds.
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _postgres_time(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=dt.timezone.utc)


# Rows per multi-row INSERT: one statement step per chunk instead of per row, which
# matters because the driver releases and retakes the GIL around every step.
ROWS_PER_STATEMENT = 500


class RawStatements:
    """Prepared SQL and row converters for one database dialect."""

    def __init__(self, dialect_name: str, paramstyle: str) -> None:
        mark = "?" if paramstyle == "qmark" else "%s"
        self._mark = mark
        self._multi: dict[tuple[str, int], str] = {}
        self.to_time = _sqlite_time if dialect_name == "sqlite" else _postgres_time
        self.sql: dict[str, str] = {}
        self._conflict: dict[str, str] = {}
        self._converters: dict[str, Callable[[dict], tuple]] = {}
        for table, columns in COLUMNS.items():
            marks = ", ".join([mark] * len(columns))
            names = ", ".join(columns)
            self.sql[table] = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            key = _UPSERT_KEYS.get(table)
            if key is None:
                self._conflict[table] = " ON CONFLICT DO NOTHING"
            else:
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
                self._conflict[table] = f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
            self.sql[table] += self._conflict[table]
            self._converters[table] = self._converter(columns)
        self.sql["job_update"] = (
            f"UPDATE job SET end_time = {mark}, call_hash = {mark}, cached = {mark} "
            f"WHERE id = {mark}"
        )
        self._converters["job_update"] = self._converter(JOB_UPDATE_COLUMNS)

    def _converter(self, columns: tuple[str, ...]) -> Callable[[dict], tuple]:
        getter = itemgetter(*columns)
        times = [i for i, name in enumerate(columns) if name in _TIME_COLUMNS]
        if not times:
            return getter
        to_time = self.to_time

        def convert(row: dict) -> tuple:
            values = list(getter(row))
            for i in times:
                values[i] = to_time(values[i])
            return tuple(values)

        return convert

    def rows(self, table: str, rows: list[dict]) -> list[tuple]:
        """The rows as tuples in the statement's column order."""
        return list(map(self._converters[table], rows))

    def _multi_sql(self, table: str, count: int) -> str:
        sql = self._multi.get((table, count))
        if sql is None:
            columns = COLUMNS[table]
            group = "(" + ", ".join([self._mark] * len(columns)) + ")"
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([group] * count)
                + self._conflict[table]
            )
            self._multi[(table, count)] = sql
        return sql

    def execute(self, cursor: Any, table: str, rows: list[dict]) -> None:
        """Write ``rows`` to ``table``: multi-row INSERTs, or executemany for updates."""
        if not rows:
            return
        tuples = self.rows(table, rows)
        if table not in COLUMNS or table in _UPSERT_KEYS:
            # Updates, and upserts (a key may repeat across a multi-row statement).
            cursor.executemany(self.sql[table], tuples)
            return
        for start in range(0, len(tuples), ROWS_PER_STATEMENT):
            chunk = tuples[start : start + ROWS_PER_STATEMENT]
            params = [value for row in chunk for value in row]
            cursor.execute(self._multi_sql(table, len(chunk)), params)
