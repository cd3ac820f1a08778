"""Keys and rows of one record: key scans and lookups as plain driver SQL (they run for
every row on every sync), full rows and inserts through SQLAlchemy (only for rows sent).

A *key row* is a tuple of a table's key columns followed by its refresh columns, the
refresh columns converted to Python values so both kinds of database compare alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from redun.backends.db.sync.tables import UPDATE_RULES, Key, Row, TableSpec

KEYS_PER_QUERY = 500  # keys per IN (...) lookup
KEYS_PER_ARRAY = 5000  # keys per PostgreSQL lookup (one array parameter per key column)


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _quote(name: str) -> str:
    return f'"{name}"'


class KeySQL:
    """Plain SQL reading one table's key rows on one connection's database."""

    def __init__(self, conn: Connection, spec: TableSpec) -> None:
        self.spec = spec
        self.postgres = conn.dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        names = (*spec.keys, *spec.refresh)
        self.select = f"SELECT {', '.join(map(_quote, names))} FROM {_quote(spec.name)}"
        columns = spec.table.c
        self._convert: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(spec.refresh, len(spec.keys)):
            kind = columns[name].type.dialect_impl(conn.dialect)
            processor = kind.result_processor(conn.dialect, None)
            if processor is not None:
                self._convert.append((i, processor))

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Key]:
        """Driver rows as key rows."""
        if not self._convert:
            return [tuple(row) for row in raw]
        converted = []
        for row in raw:
            values = list(row)
            for i, processor in self._convert:
                values[i] = processor(values[i])
            converted.append(tuple(values))
        return converted

    def lookup(self, conn: Connection, keys: Sequence[Key]) -> dict[Key, Key]:
        """The key rows held among ``keys``, by key."""
        width = len(self.spec.keys)
        found: dict[Key, Key] = {}
        size = KEYS_PER_ARRAY if self.postgres else KEYS_PER_QUERY
        for chunk in chunked(keys, size):
            if self.postgres:  # one array per key column: one short statement
                params: tuple = tuple(list(column) for column in zip(*chunk))[:width]
            else:
                params = tuple(value for key in chunk for value in key[:width])
            sql = self._lookup_sql(len(chunk))
            for row in self.rows(conn.exec_driver_sql(sql, params).fetchall()):
                found[row[:width]] = row
        return found

    def _lookup_sql(self, count: int) -> str:
        keys = self.spec.keys
        if len(keys) == 1:
            if self.postgres:
                return f"{self.select} WHERE {_quote(keys[0])} = ANY(%s)"
            return f"{self.select} WHERE {_quote(keys[0])} IN ({', '.join([self.mark] * count)})"
        # A composite key: join a list of keys (a row-value IN scans the table on SQLite).
        names = ", ".join(f"t.{_quote(name)}" for name in (*keys, *self.spec.refresh))
        aliases = ", ".join(f"k{i}" for i in range(len(keys)))
        on = " AND ".join(f"t.{_quote(name)} = v.k{i}" for i, name in enumerate(keys))
        if self.postgres:
            arrays = ", ".join(["%s"] * len(keys))
            source = f"unnest({arrays}) AS v({aliases})"
            return f"SELECT {names} FROM {source} JOIN {_quote(self.spec.name)} t ON {on}"
        group = "(" + ", ".join([self.mark] * len(keys)) + ")"
        return (
            f"WITH v({aliases}) AS (VALUES {', '.join([group] * count)}) "
            f"SELECT {names} FROM v JOIN {_quote(self.spec.name)} t ON {on}"
        )

    def scan(self, conn: Connection, size: int, where: str = "", params: tuple = ()):
        """Every key row (optionally filtered), ``size`` at a time."""
        result = conn.execution_options(stream_results=True).exec_driver_sql(
            f"{self.select} {where}", params
        )
        while True:
            part = result.fetchmany(size)
            if not part:
                break
            yield self.rows(part)


def fetch(conn: Connection, spec: TableSpec, keys: Sequence[Key]) -> list[Row]:
    """Full rows (Python values) of ``spec``'s table for ``keys`` (key rows)."""
    table = spec.table
    width = len(spec.keys)
    if width == len(table.c):  # a link table: the key is the whole row
        return [dict(zip(spec.keys, key)) for key in keys]
    assert width == 1, f"{spec.name}: composite keys are whole rows"
    column = table.c[spec.keys[0]]
    rows: list[Row] = []
    for chunk in chunked([key[0] for key in keys], KEYS_PER_QUERY):
        result = conn.execute(select(table).where(column.in_(chunk)))
        names = tuple(result.keys())
        rows.extend(dict(zip(names, values)) for values in result)
    return rows


def insert_rows(conn: Connection, spec: TableSpec, rows: list[Row]) -> int:
    """Insert ``rows`` (in order), skipping any key the destination already holds.

    Returns how many were inserted.
    """
    if not rows:
        return 0
    if conn.dialect.name != "postgresql":  # executemany: SQLite counts the rows it inserted
        return conn.execute(sqlite.insert(spec.table).on_conflict_do_nothing(), rows).rowcount
    # RETURNING makes SQLAlchemy send many rows per statement (a plain executemany costs
    # PostgreSQL a round trip per row) and names the rows inserted.
    first = spec.table.c[spec.keys[0]]
    statement = postgresql.insert(spec.table).on_conflict_do_nothing().returning(first)
    return len(conn.execute(statement, rows).all())


def update_rows(conn: Connection, spec: TableSpec, changes: list[tuple[Key, Row]]) -> None:
    """Apply column updates to rows the destination holds, one statement per column set."""
    groups: dict[tuple[str, ...], list[Row]] = {}
    for key, values in changes:
        params = {f"k_{name}": value for name, value in zip(spec.keys, key)}
        params.update({f"v_{name}": value for name, value in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(params)
    table = spec.table
    for names, params in groups.items():
        where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in spec.keys))
        statement = update(table).where(where).values({n: bindparam(f"v_{n}") for n in names})
        conn.execute(statement, params)


class Merger:
    """Writes rows into one destination connection and counts what changed."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inserted: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self._sql: dict[str, KeySQL] = {}

    def key_sql(self, spec: TableSpec) -> KeySQL:
        if spec.name not in self._sql:
            self._sql[spec.name] = KeySQL(self.conn, spec)
        return self._sql[spec.name]

    def missing(self, spec: TableSpec, key_rows: Sequence[Key]) -> list[Key]:
        """The key rows the destination lacks; rows it holds are updated if they changed."""
        width = len(spec.keys)
        by_key = {row[:width]: row for row in key_rows}
        have = self.key_sql(spec).lookup(self.conn, list(by_key))
        rule = UPDATE_RULES.get(spec.name)
        if rule is not None and have:
            names = (*spec.keys, *spec.refresh)
            changes = []
            for key, dest_row in have.items():
                values = rule(dict(zip(names, by_key[key])), dict(zip(names, dest_row)))
                if values:
                    changes.append((key, values))
            if changes:
                update_rows(self.conn, spec, changes)
                self.updated[spec.name] += len(changes)
        return [row for key, row in by_key.items() if key not in have]

    def insert(self, spec: TableSpec, rows: list[Row]) -> None:
        self.inserted[spec.name] += insert_rows(self.conn, spec, rows)

    def merge(self, spec: TableSpec, rows: list[Row]) -> None:
        """Insert what the destination lacks among full ``rows``; refresh the rest."""
        names = (*spec.keys, *spec.refresh)
        by_key = {tuple(row[n] for n in names): row for row in rows}
        missing = self.missing(spec, list(by_key))
        self.insert(spec, [by_key[key] for key in missing])
