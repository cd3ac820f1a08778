"""`redun log` on a record in PostgreSQL (the server the test services start)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from log_record import LogRecord, build_record


def lines_of(record: LogRecord, *args: str) -> list[str]:
    result = record.redun("log", *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_log_forms_on_postgres(
    pg_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = build_record(tmp_path, pg_uri)
    newest, previous = record.exec_ids[:2]
    assert lines_of(record)[2].startswith(f"Exec {newest[:8]} [FAILED]")
    assert lines_of(record, "~2")[0].startswith(f"Exec {previous} [ DONE ]")
    assert len(lines_of(record, "--job")) == 15
    assert len(lines_of(record, "--task-name", "count")) == 4
    assert len(lines_of(record, "--job", "--job-status", "CACHED")) == 4
    assert len(lines_of(record, "-t", "team=x")) == 3
    assert len(lines_of(record, "--job", "--exec-tag", "team=x")) == 3
    assert lines_of(record, "--value", "--exec-id", previous[:8], "--value-type", "builtins.int")
    assert lines_of(record, "--all", "--count")[:2] == ["       4 Execution", "      15 Job"]
    job = json.loads(lines_of(record, "--job", "--limit", "1", "--format", "json")[0])
    assert job["task_name"] == "flow.fail" and job["status"] == "FAILED"
    shown = lines_of(record, job["id"][:8])
    assert "  ValueError: bad 1" in shown and "  Upstream dataflow:" in shown
    monkeypatch.chdir(tmp_path)
    made = lines_of(record, "out.txt")
    assert made[1].startswith("Produced by Job ") and made[3].endswith("'xxxx', 4)")
    unknown = record.redun("log", "zz99")
    assert unknown.exit_code == 1 and unknown.output.startswith("redun: error: no execution, job, ")
    assert len(unknown.output.splitlines()) == 1
