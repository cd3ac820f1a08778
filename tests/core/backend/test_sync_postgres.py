"""Sharing records with PostgreSQL: push SQLite -> PostgreSQL, pull PostgreSQL -> SQLite,
import into PostgreSQL; the moved work is reused as cache on both kinds of database.

The server comes from the ``postgres_server_uri`` fixture (tests/services/postgres.py);
each test gets a new database on it.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from redun.backends.db.engine import postgres_engine
from redun.cli.main import make_cli

WORKFLOW = """
from redun import File, task

redun_namespace = "pg_sync"


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def write(path: str, n: int) -> File:
    with open(path, "w") as out:
        out.write(str(n))
    return File(path)


@task
def main(x: int = 1, out: str = "out.txt") -> list:
    return [add(add(x, 2), 3), [write(out, x)]]
"""
TABLES = (
    "task", "value", "file", "subvalue", "call_node", "call_edge", "call_subtree_task",
    "argument", "argument_result", "evaluation", "job", "execution", "tag",
)  # fmt: skip
JOBS_PER_RUN = 4


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(make_cli(), list(args), input=input, catch_exceptions=False)


@pytest.fixture
def repos(tmp_path: Path, pg_uri: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Config dirs: ``here`` and ``mine`` on SQLite, ``pg`` on the test database."""
    monkeypatch.delenv("REDUN_CONFIG", raising=False)
    configs = {name: tmp_path / name / ".redun" for name in ("here", "mine", "pg")}
    for config in configs.values():
        assert invoke("-c", str(config), "init").exit_code == 0
    (configs["pg"] / "redun.ini").write_text(f"[backend]\ndb_uri = {pg_uri}\n")
    return configs


@pytest.fixture
def run_flow(tmp_path: Path):
    """Run main(x) in a repository; returns the new execution's jobs' cached flags."""
    flow = tmp_path / f"wf_{uuid.uuid4().hex[:10]}.py"
    flow.write_text(WORKFLOW)

    def run(config: Path, x: int = 5) -> None:
        out = tmp_path / f"out{x}.txt"
        result = invoke(
            "-c", str(config), "run", str(flow), "main", "--x", str(x), "--out", str(out)
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"[{x + 5}, [File(")

    return run


def sqlite_rows(config: Path) -> dict[str, set[tuple]]:
    with sqlite3.connect(config / "redun.db") as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {table: set(conn.execute(f"SELECT * FROM {table}")) for table in TABLES}


def latest_cached_flags_sqlite(config: Path) -> list[int]:
    with sqlite3.connect(config / "redun.db") as conn:
        rows = conn.execute(
            "SELECT cached FROM job WHERE execution_id = "
            "(SELECT execution_id FROM job ORDER BY start_time DESC LIMIT 1)"
        )
        return sorted(row[0] for row in rows)


def pg_scalars(pg_uri: str, sql: str) -> list:
    engine = postgres_engine(pg_uri, "test")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).scalars())
    finally:
        engine.dispose()


def test_push_to_postgres_and_pull_back(repos: dict[str, Path], run_flow, pg_uri: str) -> None:
    here, mine, pg = repos["here"], repos["mine"], repos["pg"]
    run_flow(here)
    assert invoke("-c", str(here), "repo", "add", "pg", str(pg)).exit_code == 0
    # SQLite -> PostgreSQL (a new database: migrated on first use).
    result = invoke("-c", str(here), "push", "pg")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "pushed 1 execution, 4 jobs, 4 call nodes, 3 call edges, 6 call subtree tasks, "
        "8 arguments, 1 argument result, 15 values, 1 file, 4 subvalues, 3 tasks, "
        "4 evaluations, 3 tags to pg\n"
    )
    assert invoke("-c", str(here), "push", "pg").stdout == (
        "pushed nothing to pg: already up to date\n"
    )

    # The pushed work is the PostgreSQL record's cache.
    run_flow(pg)
    flags = pg_scalars(
        pg_uri,
        "SELECT cached FROM job WHERE execution_id = "
        "(SELECT execution_id FROM job ORDER BY start_time DESC LIMIT 1)",
    )
    assert flags == [True] * JOBS_PER_RUN

    # PostgreSQL -> SQLite: both executions, rows as the first SQLite record stored them.
    assert invoke("-c", str(mine), "repo", "add", "pg", str(pg)).exit_code == 0
    result = invoke("-c", str(mine), "pull", "pg")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("pulled 2 executions, 8 jobs, 4 call nodes, ")
    original, pulled = sqlite_rows(here), sqlite_rows(mine)
    for table in TABLES:
        assert original[table] <= pulled[table], table
    run_flow(mine)
    assert latest_cached_flags_sqlite(mine) == [1] * JOBS_PER_RUN


def test_import_into_postgres_is_all_or_nothing(
    repos: dict[str, Path], run_flow, pg_uri: str
) -> None:
    here, pg = repos["here"], repos["pg"]
    run_flow(here)
    exported = invoke("-c", str(here), "export").stdout
    # Without its task rows the call graph refers to tasks PostgreSQL does not have.
    broken = "\n".join(
        line for line in exported.splitlines() if json.loads(line)["table"] != "task"
    )
    result = invoke("-c", str(pg), "import", input=broken)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("redun: error: import from stdin (nothing was imported) failed: ")
    assert "foreign key" in line
    assert pg_scalars(pg_uri, "SELECT count(*) FROM value") == [0]

    result = invoke("-c", str(pg), "import", input=exported)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported 1 execution, 4 jobs, ")
    run_flow(pg)
    assert pg_scalars(pg_uri, "SELECT count(*) FROM job WHERE cached") == [JOBS_PER_RUN]
