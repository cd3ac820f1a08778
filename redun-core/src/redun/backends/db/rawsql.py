"""The writer's SQL: bulk inserts for every table, as prepared DBAPI statements.

A row arrives as a message, ``(table, *columns)`` in the order of COLUMNS (see
rows.py), and goes to the driver as a tuple, in the stored form SQLAlchemy's
models used: on SQLite, times are naive UTC text
``YYYY-MM-DD HH:MM:SS.ffffff``, booleans 0/1 and tag values JSON text; on
PostgreSQL, times are timezone-aware and tag values are cast to JSONB.

A time travels as integer microseconds since 1970 and becomes the stored form
where the statements run (for a SQLite file, in its write process, not on the
writer thread); SQLite's text is the second's text, formatted once per second,
and the microseconds.

Standard library only: a SQLite file's write process imports this module without redun.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

ERROR_VALUE_TYPE = "redun.ErrorValue"  # value.type of a failed call's result

# Columns per table, in the order the tuples carry them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "task": ("hash", "name", "namespace", "source"),
    "value": ("value_hash", "type", "format", "value"),
    "file": ("value_hash", "path"),
    "subvalue": ("value_hash", "parent_value_hash"),
    "handle": ("hash", "fullname", "value_hash", "key", "is_valid"),
    "handle_edge": ("parent_id", "child_id"),
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
    "execution": ("id", "args", "job_id", "updated_time"),
    "tag": ("tag_hash", "entity_type", "entity_id", "key", "value", "is_current"),
}  # fmt: skip
# A job_update message: ("job_update", end_time, call_hash, cached, id).
JOB_UPDATE_COLUMNS = ("b_end_time", "b_call_hash", "b_cached", "b_id")
_TIME_COLUMNS = {"timestamp", "start_time", "end_time", "updated_time", "b_end_time"}
_JSON_COLUMNS = {("tag", "value")}
_UPSERT_KEYS = {"evaluation": "eval_hash", "execution": "id", "handle": "hash"}
_POSTGRES_CASTS = {("tag", "entity_type"): "tagentity", ("tag", "value"): "JSONB"}
_QUOTED = {"key"}  # column names that are SQL keywords

# Rows per multi-row INSERT: one statement step per chunk instead of per row, which
# matters because the driver releases and retakes the GIL around every step.
ROWS_PER_STATEMENT = 500
IN_CHUNK = 500  # most ids per IN (...) list


def chunks(items: list[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """``items`` in slices small enough for an SQL ``IN`` list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


_EXISTING_CALLS_SQLITE = (
    "SELECT group_concat(call_hash, ',') FROM call_node WHERE call_hash IN ({marks})"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_SECOND_TEXTS: dict[int, str] = {}  # "YYYY-MM-DD HH:MM:SS." by seconds since 1970


def sqlite_time_text(value: dt.datetime | int | None) -> str | None:
    """:func:`sqlite_time` of a time that may also be whole microseconds since 1970."""
    if type(value) is not int:
        return sqlite_time(value)  # type: ignore[arg-type]
    seconds, micros = divmod(value, 1_000_000)
    second = _SECOND_TEXTS.get(seconds)
    if second is None:
        if len(_SECOND_TEXTS) > 4096:  # (a long-lived writer: keep the recent seconds)
            _SECOND_TEXTS.clear()
        second = (_NAIVE_EPOCH + dt.timedelta(seconds=seconds)).isoformat(" ") + "."
        _SECOND_TEXTS[seconds] = second
    return f"{second}{micros:06d}"


def sqlite_time(value: dt.datetime | None) -> str | None:
    """The text SQLite records hold for a UTC time (naive or aware): always with microseconds."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def postgres_time(value: dt.datetime | int | None) -> dt.datetime | None:
    """A timezone-aware UTC time (naive values are UTC; ints are microseconds since 1970)."""
    if type(value) is int:
        return _EPOCH + dt.timedelta(microseconds=value)
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def json_text(value: Any) -> str:
    """A tag value as stored on SQLite, as redun 0.4x: compact JSON with sorted keys."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _name(column: str) -> str:
    return f'"{column}"' if column in _QUOTED else column


class RawStatements:
    """Prepared SQL and row converters for one database dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, dialect_name: str) -> None:
        self._postgres = dialect_name == "postgresql"
        self._mark = "%s" if self._postgres else "?"
        self.to_time = postgres_time if self._postgres else sqlite_time_text
        self._multi: dict[tuple[str, int], str] = {}
        self._groups: dict[str, str] = {}
        self._conflict: dict[str, str] = {}
        self._converters: dict[str, Callable[[tuple], tuple]] = {}
        # Where a row message holds the key of an upserted table.
        self._upsert_keys = {t: COLUMNS[t].index(k) + 1 for t, k in _UPSERT_KEYS.items()}
        self.sql: dict[str, str] = {}
        for table, columns in COLUMNS.items():
            self._groups[table] = "(" + ", ".join(self._marks(table, columns)) + ")"
            key = _UPSERT_KEYS.get(table)
            if key is None:
                self._conflict[table] = " ON CONFLICT DO NOTHING"
            else:
                names = [_name(c) for c in columns if c != key]
                updates = ", ".join(f"{n} = excluded.{n}" for n in names)
                self._conflict[table] = f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
            self.sql[table] = self._insert_sql(table, 1)
            self._converters[table] = self._converter(table, columns)
        mark = self._mark
        self.sql["job_update"] = (
            f"UPDATE job SET end_time = {mark}, call_hash = {mark}, cached = {mark} "
            f"WHERE id = {mark}"
        )
        self._converters["job_update"] = self._converter("job_update", JOB_UPDATE_COLUMNS)

    def _marks(self, table: str, columns: tuple[str, ...]) -> list[str]:
        casts = _POSTGRES_CASTS if self._postgres else {}
        return [
            f"CAST({self._mark} AS {casts[table, c]})" if (table, c) in casts else self._mark
            for c in columns
        ]

    def _insert_sql(self, table: str, count: int) -> str:
        names = ", ".join(_name(c) for c in COLUMNS[table])
        values = ", ".join([self._groups[table]] * count)
        return f"INSERT INTO {table} ({names}) VALUES {values}{self._conflict[table]}"

    def _converter(self, table: str, columns: tuple[str, ...]) -> Callable[[tuple], tuple]:
        # A row travels as a message, (table, *columns): its values start at index 1.
        getter = itemgetter(*range(1, len(columns) + 1))
        changes: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(columns):
            if name in _TIME_COLUMNS:
                changes.append((i, self.to_time))
            elif (table, name) in _JSON_COLUMNS:
                changes.append((i, json_text))
        if not changes:
            return getter

        def convert(row: tuple) -> tuple:
            values = list(getter(row))
            for i, change in changes:
                values[i] = change(values[i])
            return tuple(values)

        return convert

    def rows(self, table: str, rows: list[tuple]) -> list[tuple]:
        """The statement parameters of ``rows`` (messages: the table, then its columns)."""
        return list(map(self._converters[table], rows))

    def _multi_sql(self, table: str, count: int) -> str:
        sql = self._multi.get((table, count))
        if sql is None:
            sql = self._multi[(table, count)] = self._insert_sql(table, count)
        return sql

    def existing_calls(self, cursor: Any, call_hashes: list[str]) -> set[str]:
        """The call hashes among ``call_hashes`` that the call_node table already holds."""
        found: set[str] = set()
        for chunk in chunks(call_hashes):
            marks = ", ".join([self._mark] * len(chunk))
            if self._postgres:
                cursor.execute(
                    f"SELECT call_hash FROM call_node WHERE call_hash IN ({marks})", chunk
                )
                found.update(row[0] for row in cursor.fetchall())
            else:  # one row: sqlite3 takes the GIL back once per row, not per hash
                cursor.execute(_EXISTING_CALLS_SQLITE.format(marks=marks), chunk)
                (joined,) = cursor.fetchone()
                found.update(joined.split(",") if joined else ())
        return found

    def execute(self, cursor: Any, table: str, rows: list[tuple], one_row: bool = False) -> None:
        """Write ``rows`` (messages) to ``table``: multi-row INSERTs, or executemany for updates.

        With ``one_row``, executemany of the one-row INSERT: dearer where each row's step
        retakes the GIL, cheaper (SQLite prepares one short statement, not a long one per
        chunk) in the write process, which has no GIL to share.
        """
        if not rows:
            return
        if table not in COLUMNS:  # updates
            cursor.executemany(self.sql[table], self.rows(table, rows))
            return
        key = self._upsert_keys.get(table)
        if key is not None:  # one statement must not upsert a key twice (PostgreSQL refuses)
            rows = list({row[key]: row for row in rows}.values())
        tuples = self.rows(table, rows)
        if one_row:
            cursor.executemany(self.sql[table], tuples)
            return
        for start in range(0, len(tuples), ROWS_PER_STATEMENT):
            chunk = tuples[start : start + ROWS_PER_STATEMENT]
            params = [value for row in chunk for value in row]
            cursor.execute(self._multi_sql(table, len(chunk)), params)
