"""The writer's raw SQL stores every column exactly as SQLAlchemy's models would."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, update

from redun.backends.db import RedunBackend
from redun.backends.db.models import TABLES
from redun.backends.db.rawsql import (
    COLUMNS,
    JOB_UPDATE_COLUMNS,
    RawStatements,
    sqlite_time,
    sqlite_time_text,
)

NAIVE = dt.datetime(2024, 3, 1, 12, 30, 5, 1234)
AWARE_UTC = dt.datetime(2024, 3, 1, 12, 30, 6, tzinfo=dt.timezone.utc)  # no microseconds
AWARE_CET = dt.datetime(2024, 3, 1, 14, 30, 7, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))

# One or two rows per table, covering NULLs, booleans, blobs, JSON and all kinds of times.
ROWS: dict[str, list[dict]] = {
    "task": [{"hash": "t" * 40, "name": "add", "namespace": "ns", "source": "def add(): ..."}],
    "value": [{"value_hash": "v" * 40, "type": "builtins.int", "format": "f", "value": b"\x00"}],
    "file": [{"value_hash": "v" * 40, "path": "/data/x.txt"}],
    "subvalue": [{"value_hash": "v" * 40, "parent_value_hash": "w" * 40}],
    "handle": [
        {"hash": "k" * 40, "fullname": "ns.db", "value_hash": "v" * 40, "key": "",
         "is_valid": True},
        {"hash": "l" * 40, "fullname": "ns.db", "value_hash": "v" * 40, "key": "1",
         "is_valid": False},
    ],
    "handle_edge": [{"parent_id": "k" * 40, "child_id": "l" * 40}],
    "call_node": [
        {"call_hash": "c" * 40, "task_name": "ns.add", "task_hash": "t" * 40,
         "args_hash": "a" * 40, "value_hash": "v" * 40, "timestamp": AWARE_CET},
        {"call_hash": "d" * 40, "task_name": "ns.add", "task_hash": "t" * 40,
         "args_hash": "a" * 40, "value_hash": "v" * 40, "timestamp": NAIVE},
    ],
    "call_edge": [{"parent_id": "c" * 40, "child_id": "d" * 40, "call_order": 0}],
    "call_subtree_task": [{"call_hash": "c" * 40, "task_hash": "t" * 40}],
    "argument": [
        {"arg_hash": "g" * 40, "call_hash": "c" * 40, "value_hash": "v" * 40,
         "arg_position": 0, "arg_key": None},
        {"arg_hash": "h" * 40, "call_hash": "c" * 40, "value_hash": "v" * 40,
         "arg_position": None, "arg_key": "n"},
    ],
    "argument_result": [{"arg_hash": "g" * 40, "result_call_hash": "d" * 40}],
    "evaluation": [
        {"eval_hash": "e" * 40, "task_hash": "t" * 40, "args_hash": "a" * 40,
         "value_hash": "v" * 40}
    ],
    "job": [
        {"id": "j1", "start_time": AWARE_UTC, "end_time": None, "task_hash": "t" * 40,
         "cached": False, "call_hash": None, "parent_id": None, "execution_id": "x1"},
        {"id": "j2", "start_time": NAIVE, "end_time": AWARE_CET, "task_hash": "t" * 40,
         "cached": True, "call_hash": "c" * 40, "parent_id": "j1", "execution_id": "x1"},
    ],
    "execution": [{"id": "x1", "args": '["run"]', "job_id": "j1", "updated_time": AWARE_UTC}],
    "tag": [
        {"tag_hash": "1" * 40, "entity_type": "Execution", "entity_id": "x1", "key": "user",
         "value": "me", "is_current": True},
        {"tag_hash": "2" * 40, "entity_type": "Execution", "entity_id": "x1", "key": "cfg",
         "value": {"b": [1, 2.5, None], "a": "é"}, "is_current": False},
    ],
}  # fmt: skip
JOB_UPDATE = {"b_id": "j1", "b_end_time": NAIVE, "b_call_hash": "d" * 40, "b_cached": True}


def messages(table: str, rows: list[dict]) -> list[tuple]:
    """Rows as the writer hands them over: (table, *columns in COLUMNS order)."""
    columns = COLUMNS.get(table, JOB_UPDATE_COLUMNS)
    return [(table, *(row[c] for c in columns)) for row in rows]


def fresh_db(path: Path) -> Path:
    backend = RedunBackend(f"sqlite:///{path}")
    backend.load()
    backend.close()
    return path


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of the written tables with each column's SQLite storage class."""
    with sqlite3.connect(path) as conn:
        result = {}
        for table, columns in COLUMNS.items():
            selected = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
            result[table] = conn.execute(f"SELECT {selected} FROM {table} ORDER BY 2").fetchall()
        return result


@pytest.mark.parametrize("one_row", [False, True], ids=["multi-row", "one-row"])
def test_every_table_is_stored_as_sqlalchemy_stores_it(tmp_path: Path, one_row: bool) -> None:
    assert set(ROWS) == set(COLUMNS)
    ours, theirs = fresh_db(tmp_path / "raw.db"), fresh_db(tmp_path / "sqlalchemy.db")

    raw = RawStatements("sqlite")
    conn = sqlite3.connect(ours)
    cursor = conn.cursor()
    for table, rows in ROWS.items():
        raw.execute(cursor, table, messages(table, rows), one_row)
    raw.execute(cursor, "job_update", messages("job_update", [JOB_UPDATE]))
    conn.commit()
    conn.close()

    engine = create_engine(f"sqlite:///{theirs}")
    with engine.begin() as sa_conn:
        for table, rows in ROWS.items():
            sa_conn.execute(insert(TABLES[table]), rows)
        job = TABLES["job"]
        values = {k[2:]: v for k, v in JOB_UPDATE.items() if k != "b_id"}
        sa_conn.execute(update(job).where(job.c.id == JOB_UPDATE["b_id"]).values(**values))
    engine.dispose()

    stored = dump(ours)
    assert stored == dump(theirs)
    job = {row[1]: row for row in stored["job"]}
    assert job["j1"][2:4] == ("text", "2024-03-01 12:30:06.000000")
    assert job["j1"][8:10] == ("integer", 1)  # the update's cached = True
    assert job["j2"][4:6] == ("text", "2024-03-01 12:30:07.000005")  # +02:00 stored as UTC
    tags = {row[7]: row[9] for row in stored["tag"]}
    # Compact JSON with sorted keys, as redun 0.44.1 stores tag values on SQLite.
    assert tags == {"user": '"me"', "cfg": '{"a":"\\u00e9","b":[1,2.5,null]}'}


@pytest.mark.parametrize(
    "value, text",
    [
        (None, None),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05.000000"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc), "2024-01-02 03:04:05.000006"),
        (
            dt.datetime(2024, 1, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "2024-01-02 05:00:00.000000",
        ),
    ],
)
def test_sqlite_time(value: dt.datetime | None, text: str | None) -> None:
    assert sqlite_time(value) == text


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.datetime(2024, 1, 2, 3, 4, 5, 999999),
        dt.datetime(1969, 12, 31, 23, 59, 59, 1),  # before 1970: negative microseconds
        dt.datetime(2038, 1, 19, 3, 14, 8, 70),
    ],
)
def test_sqlite_time_text_of_microseconds(when: dt.datetime) -> None:
    micros = (when - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    for _ in range(2):  # (the second time from the seconds already formatted)
        assert sqlite_time_text(micros) == sqlite_time(when) == sqlite_time_text(when)


def test_postgresql_statements_use_pyformat_and_casts() -> None:
    raw = RawStatements("postgresql")
    assert raw.sql["tag"] == (
        'INSERT INTO tag (tag_hash, entity_type, entity_id, "key", value, is_current) VALUES '
        "(%s, CAST(%s AS tagentity), %s, %s, CAST(%s AS JSONB), %s) ON CONFLICT DO NOTHING"
    )
    assert raw.sql["execution"].endswith(
        "ON CONFLICT (id) DO UPDATE SET args = excluded.args, job_id = excluded.job_id, "
        "updated_time = excluded.updated_time"
    )
    [row] = raw.rows("job", messages("job", [ROWS["job"][1]]))
    assert row[1] == NAIVE.replace(tzinfo=dt.timezone.utc) and row[2] == AWARE_CET
    assert "?" not in "".join(raw.sql.values())


def test_integer_microseconds_are_stored_as_the_same_time(tmp_path: Path) -> None:
    """The scheduler records times as microseconds since 1970 (now_micros): stored the same."""
    when = dt.datetime(2024, 3, 1, 12, 30, 7, 5, tzinfo=dt.timezone.utc)
    micros = (when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(
        microseconds=1
    )
    rows = [dict(ROWS["job"][0], id="as-datetime", start_time=when, end_time=when),
            dict(ROWS["job"][0], id="as-micros", start_time=micros, end_time=micros)]  # fmt: skip
    path = fresh_db(tmp_path / "times.db")
    conn = sqlite3.connect(path)
    RawStatements("sqlite").execute(conn.cursor(), "job", messages("job", rows), one_row=True)
    conn.commit()
    stored = dict(conn.execute("SELECT id, start_time || '/' || end_time FROM job"))
    conn.close()
    assert (
        stored["as-micros"]
        == stored["as-datetime"]
        == ("2024-03-01 12:30:07.000005/2024-03-01 12:30:07.000005")
    )

    [pg_row] = RawStatements("postgresql").rows("job", messages("job", [rows[1]]))
    assert pg_row[1] == pg_row[2] == when
