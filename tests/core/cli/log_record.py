"""A record made by our scheduler for the `redun log` tests: four executions of FLOW."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner, Result

from redun.cli.main import make_cli
from redun.plugins import reset_plugins

FLOW = """
from redun import task, File

redun_namespace = "flow"


@task()
def make_text(n: int) -> str:
    return "x" * n


@task()
def count(text: str) -> int:
    return len(text)


@task()
def write(path: str, text: str, size: int) -> File:
    f = File(path)
    f.write(f"{text} {size}")
    return f


@task()
def fail(x: int) -> int:
    raise ValueError(f"bad {x}")


@task()
def main(n: int = 3, out: str = "out.txt") -> File:
    text = make_text(n)
    size = count(text)
    return write(out, text, size)


@task()
def failing(x: int = 1) -> list:
    return [count("abc"), fail(x)]
"""


@dataclass
class LogRecord:
    """Where the record is, and the ids of its executions (newest first)."""

    home: Path
    config: Path
    exec_ids: list[str] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.config / "redun.db"

    def redun(self, *args: str) -> Result:
        """Run ``redun -c CONFIG ARGS`` in-process."""
        return CliRunner().invoke(make_cli(), ["-c", str(self.config), *args])

    def ids(self, table: str, column: str) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            return [row[0] for row in conn.execute(f"SELECT {column} FROM {table}")]

    def query(self, sql: str, *params: str) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()


def build_record(home: Path, db_uri: str | None = None) -> LogRecord:
    """Run FLOW four times in ``home``: main, main --n 4 (twice: run, then cached), failing.

    The record goes to ``home/.redun/redun.db``, or to ``db_uri`` when given.
    """
    workflow = home / f"wf_log_{uuid.uuid4().hex[:10]}.py"
    workflow.write_text(FLOW)
    record = LogRecord(home, home / ".redun")
    if db_uri is not None:
        record.config.mkdir()
        (record.config / "redun.ini").write_text(f"[backend]\ndb_uri = {db_uri}\n")
    cwd = os.getcwd()
    os.chdir(home)
    reset_plugins()
    try:
        for args, code in (
            (["main"], 0),
            (["main", "--n", "4"], 0),
            (["main", "--n", "4"], 0),
            (["failing"], 1),
        ):
            tags = ["-t", "team=x"] if args == ["failing"] else []
            result = record.redun("run", *tags, workflow.name, *args)
            assert result.exit_code == code, result.output
    finally:
        os.chdir(cwd)
        reset_plugins()
    listed = record.redun("log", "--exec", "--format", "json")
    assert listed.exit_code == 0, listed.output
    record.exec_ids = [json.loads(line)["id"] for line in listed.output.splitlines()]
    return record
