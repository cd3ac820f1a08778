"""Records as JSON lines: ``{"table": NAME, "row": {column: value}}`` per line.

Blobs are base64 text, times ISO 8601 in UTC without an offset, tag values plain JSON.
Reading checks every line before anything is written, so a bad line names its
number and leaves the destination untouched.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from sqlalchemy import Boolean, Column, Connection, Enum, Integer, LargeBinary, select

from redun.backends.db.models import JSONText, UTCDateTime
from redun.backends.db.sync.counts import Counts
from redun.backends.db.sync.tables import SPEC_BY_NAME, SPECS, Key, Row, sort_jobs
from redun.backends.db.sync.transfer import ROWS_PER_BATCH, stream
from redun.backends.db.sync.writes import Merger, fetch


class RecordFormatError(ValueError):
    """A line of a JSON-lines export that cannot be imported."""

    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


# Writing ------------------------------------------------------------------------------------
def encode_value(column: Column, value: Any) -> Any:
    """A column value as JSON-ready data."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, UTCDateTime):
        return value.isoformat(" ", "microseconds")
    return value


def encode_line(table: str, row: Mapping[str, Any]) -> str:
    columns = SPEC_BY_NAME[table].table.c
    body = {name: encode_value(columns[name], value) for name, value in row.items()}
    return json.dumps({"table": table, "row": body}, sort_keys=False)


def export_records(
    conn: Connection, out: TextIO, selection: Mapping[str, set[Key]] | None = None
) -> Counts:
    """Write every row (or only the keys in ``selection``, per table) in foreign-key order."""
    counts = Counts()
    for spec in SPECS:
        if selection is None:
            batches: Iterable[list[Row]] = stream(conn, select(spec.table), ROWS_PER_BATCH)
        else:
            keys = sorted(selection.get(spec.name, ()), key=repr)
            batches = [fetch(conn, spec, keys)] if keys else []
        for rows in batches:
            for row in rows:
                out.write(encode_line(spec.name, row) + "\n")
            counts.inserted[spec.name] += len(rows)
    return counts


# Reading ------------------------------------------------------------------------------------
def decode_value(column: Column, value: Any) -> Any:
    """A JSON value as the column's Python value; raises ValueError naming the problem."""
    if value is None:
        if not column.nullable:
            raise ValueError(f"column {column.name!r} must not be null")
        return None
    kind = column.type
    if isinstance(kind, JSONText):
        return value
    if isinstance(kind, LargeBinary):
        if not isinstance(value, str):
            raise ValueError(f"column {column.name!r} must be base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"column {column.name!r} is not valid base64") from None
    if isinstance(kind, UTCDateTime):
        try:
            moment = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"column {column.name!r} is not an ISO 8601 time") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return moment
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"column {column.name!r} must be true or false")
        return value
    if isinstance(kind, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"column {column.name!r} must be a whole number")
        return value
    if not isinstance(value, str):
        raise ValueError(f"column {column.name!r} must be a string")
    if isinstance(kind, Enum) and value not in kind.enums:
        raise ValueError(f"column {column.name!r} must be one of {', '.join(kind.enums)}")
    return value


def decode_line(text: str) -> tuple[str, Row]:
    """(table, row) from one line; raises ValueError naming the problem."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(record, dict) or set(record) != {"table", "row"}:
        raise ValueError('expected {"table": NAME, "row": {...}}')
    table, body = record["table"], record["row"]
    spec = SPEC_BY_NAME.get(table) if isinstance(table, str) else None
    if spec is None:
        raise ValueError(f"unknown table {table!r}")
    if not isinstance(body, dict):
        raise ValueError(f"the {table} row is not an object")
    columns = spec.table.c
    unknown = sorted(set(body) - set(columns.keys()))
    if unknown:
        raise ValueError(f"table {table} has no column {unknown[0]!r}")
    try:
        row = {column.name: decode_value(column, body.get(column.name)) for column in columns}
    except ValueError as error:
        raise ValueError(f"table {table}: {error}") from None
    return table, row


def read_records(lines: Iterable[str]) -> dict[str, dict[Key, Row]]:
    """Every record of a JSON-lines export, by table and key (a repeated key: the last wins).

    Raises RecordFormatError at the first line that cannot be read.
    """
    records: dict[str, dict[Key, Row]] = {spec.name: {} for spec in SPECS}
    for lineno, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            table, row = decode_line(text)
        except ValueError as error:
            raise RecordFormatError(lineno, str(error)) from None
        records[table][SPEC_BY_NAME[table].key(row)] = row
    return records


def import_records(conn: Connection, records: Mapping[str, Mapping[Key, Row]]) -> Counts:
    """Write what ``conn``'s database lacks (in the caller's transaction); returns the counts."""
    merger = Merger(conn)
    for spec in SPECS:
        rows = list(records.get(spec.name, {}).values())
        if spec.name != "job":
            merger.merge(spec, rows)
            continue
        names = (*spec.keys, *spec.refresh)
        by_key = {tuple(row[n] for n in names): row for row in rows}
        ready, rest = sort_jobs(by_key[key] for key in merger.missing(spec, list(by_key)))
        merger.insert(spec, ready + rest)
    counts = Counts()
    counts.add(merger.inserted, merger.updated)
    return counts
