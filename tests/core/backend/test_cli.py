"""`redun log` and `redun db` through click's CliRunner, against real SQLite files."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner, Result

from redun.backends.db import RedunBackend
from redun.cli.db import db
from redun.cli.log import log

# `redun log` output of redun 0.44.1 for the reference database (trailing spaces removed).
REFERENCE_LOG = """\
Recent executions:

Exec 33333333 [FAILED] 2026-11-21 22:31:48:  run --execution-id 33333333-3333-4333-8333-333333333333 wf.py failing (project=demo, redun.version=0.44.1, user=root)
Exec 22222222 [ DONE ] 2026-11-21 22:31:44:  run --execution-id 22222222-2222-4222-8222-222222222222 wf.py main --n 2 (project=demo, redun.version=0.44.1, user=root)
Exec 11111111 [ DONE ] 2026-11-21 22:31:39:  run --execution-id 11111111-1111-4111-8111-111111111111 wf.py main --n 2 (project=demo, redun.version=0.44.1, user=root)
"""  # noqa: E501
REFERENCE_LOG_EXEC = """\
Exec 11111111-1111-4111-8111-111111111111 [ DONE ] 2026-11-21 22:31:39:  run --execution-id 11111111-1111-4111-8111-111111111111 wf.py main --n 2 (project=demo, redun.version=0.44.1, user=root)
Duration: 0:00:00.07

| JOB STATUS 2026/11/21 22:31:40
| TASK       PENDING RUNNING  FAILED  CACHED    DONE   TOTAL
|
| ALL              0       0       0       0       4       4
| demo.add         0       0       0       0       2       2
| demo.main        0       0       0       0       1       1
| demo.write       0       0       0       0       1       1

Jobs: 4 (DONE: 4, CACHED: 0, FAILED: 0)
--------------------------------------------------------------------------------
Job 853f3b9a [ DONE ] 2026-11-21 22:31:39:  demo.main(n=2)
  Job bf3d5a3b [ DONE ] 2026-11-21 22:31:39:  demo.add(0, 2)
  Job fa3d2267 [ DONE ] 2026-11-21 22:31:40:  demo.add(1, 2)
  Job 93747943 [ DONE ] 2026-11-21 22:31:40:  demo.write(2)
"""  # noqa: E501


def make_cli(db_uri: str) -> click.Group:
    """A root group that hands out backends the way the real `redun` command does."""

    @click.group()
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        def get_backend(load: bool = True) -> RedunBackend:
            backend = RedunBackend(db_uri)
            ctx.call_on_close(backend.close)
            if load:
                backend.load()
            return backend

        ctx.obj = {"get_backend": get_backend}

    cli.add_command(log)
    cli.add_command(db)
    return cli


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Show times in UTC, as the reference output was captured."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def run(reference_db: Path) -> Callable[..., Result]:
    cli = make_cli(f"sqlite:///{reference_db}")
    return lambda *args: CliRunner().invoke(cli, list(args))


def strip(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def test_log_lists_executions_like_redun(run: Callable[..., Result]) -> None:
    result = run("log")
    assert result.exit_code == 0, result.output
    assert result.output == REFERENCE_LOG


REFERENCE_LOG_JOBS = """\
Job ef54dfda [FAILED] 2026-11-21 22:31:48:  demo.boom(1)
Job f242e36b [ DONE ] 2026-11-21 22:31:48:  demo.add(1, 1)
Job 9c65ebc3 [FAILED] 2026-11-21 22:31:48:  demo.failing(n=1)
Job 678dd779 [CACHED] 2026-11-21 22:31:44:  demo.write(2)
Job 63625ddb [CACHED] 2026-11-21 22:31:44:  demo.add(1, 2)
Job 88f06f7b [CACHED] 2026-11-21 22:31:44:  demo.add(0, 2)
Job 3934c2ae [CACHED] 2026-11-21 22:31:44:  demo.main(n=2)
Job 93747943 [ DONE ] 2026-11-21 22:31:40:  demo.write(2)
Job fa3d2267 [ DONE ] 2026-11-21 22:31:40:  demo.add(1, 2)
Job bf3d5a3b [ DONE ] 2026-11-21 22:31:39:  demo.add(0, 2)
Job 853f3b9a [ DONE ] 2026-11-21 22:31:39:  demo.main(n=2)
"""


def test_log_jobs_like_redun(run: Callable[..., Result]) -> None:
    result = run("log", "--job")
    assert result.exit_code == 0, result.output
    assert strip(result.output) == REFERENCE_LOG_JOBS


def test_log_execution_like_redun(run: Callable[..., Result]) -> None:
    assert strip(run("log", "11111111").output) == strip(REFERENCE_LOG_EXEC)
    full = run("log", "11111111-1111-4111-8111-111111111111")
    assert strip(full.output) == strip(REFERENCE_LOG_EXEC)


def test_log_latest_and_failed(run: Callable[..., Result]) -> None:
    result = run("log", "-")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("Exec 33333333-3333-4333-8333-333333333333 [FAILED]")
    assert "Jobs: 3 (DONE: 1, CACHED: 0, FAILED: 2)" in lines
    assert lines[-3:] == [
        "Job 9c65ebc3 [FAILED] 2026-11-21 22:31:48:  demo.failing(n=1)",
        "  Job f242e36b [ DONE ] 2026-11-21 22:31:48:  demo.add(1, 1)",
        "  Job ef54dfda [FAILED] 2026-11-21 22:31:48:  demo.boom(1)",
    ]
    cached = run("log", "2222").output.splitlines()
    assert cached[-1] == "  Job 678dd779 [CACHED] 2026-11-21 22:31:44:  demo.write(2)"


def test_log_job_call_node_task_value(run: Callable[..., Result]) -> None:
    job = run("log", "ef54dfda").output.splitlines()
    assert job[:3] == [
        "Job ef54dfda-f1c8-40e6-9fca-eff3678243ae [FAILED] 2026-11-21 22:31:48:  demo.boom(1)",
        "Traceback: Exec 33333333 > Job 9c65ebc3 failing > Job ef54dfda boom",
        "Duration: 0:00:00.01",
    ]
    assert "  CallNode e3aa083efe4aa7e090ef1dae8041218dc9771eb8 demo.boom" in job
    assert "    def boom(x: int) -> int:" in job
    node = run("log", "853f3b9a").output  # a job: its call node shows args and result
    assert "    Args:   n=2" in node and "    Result: [2, 3, {'file': " in node
    task = run("log", "07c36ead").output.splitlines()
    assert task[0] == "Task 07c36ead1bb67b4724243e7fd0e73f652cf17de3 demo.failing"
    value = run("log", "a8396c89").output.splitlines()
    assert value[:2] == ["Value a8396c89 builtins.int", "1"]
    assert value[2:] == ["", "Upstream dataflow:", "", "  value = 1", "", "  value <-- origin"]


def test_log_errors_are_one_line(run: Callable[..., Result]) -> None:
    unknown = run("log", "zz99")
    assert unknown.exit_code != 0
    assert unknown.output == (
        "Error: no execution, job, call node, task or value has an id starting with 'zz99'\n"
    )
    ambiguous = run("log", "8")
    assert (
        ambiguous.exit_code != 0 and "matches several records (job 853f3b9a, " in ambiguous.output
    )
    assert "call node 85f1d" in ambiguous.output and "give more characters" in ambiguous.output
    assert len(ambiguous.output.splitlines()) == 1


def test_log_our_own_records(backend: RedunBackend, db_path: Path, rec: SimpleNamespace) -> None:
    ids = rec.record_execution(backend, n=2)
    backend.flush()
    result = CliRunner().invoke(make_cli(f"sqlite:///{db_path}"), ["log", ids.exec_id[:10]])
    lines = result.output.splitlines()
    assert lines[0].endswith(":  run wf.py main (user=me)")
    assert lines[-3].endswith(":  backend_test.main(n=2)")
    assert lines[-2].endswith(":  backend_test.add(0, 2)") and lines[-2].startswith("  Job ")


def test_log_unusable_database(tmp_path: Path) -> None:
    path = tmp_path / "redun.db"
    path.write_bytes(b"garbage" * 1000)
    result = CliRunner().invoke(make_cli(f"sqlite:///{path}"), ["log"])
    assert result.exit_code != 0
    assert result.output.startswith("Error: database ") and "corrupt" in result.output
    assert len(result.output.splitlines()) == 1


def test_db_commands(tmp_path: Path, reference_db: Path) -> None:
    path = tmp_path / "new.db"
    cli = make_cli(f"sqlite:///{path}")
    info = CliRunner().invoke(cli, ["db", "info"])
    assert info.exit_code == 0 and "db version: none" in info.output
    assert not path.exists()  # info does not create the database
    upgrade = CliRunner().invoke(cli, ["db", "upgrade"])
    assert upgrade.exit_code == 0
    assert "none (no redun schema yet) -> 3.5 'Add updated_time.'" in upgrade.output
    again = CliRunner().invoke(cli, ["db", "upgrade"]).output
    assert "no migration needed" in again
    info = CliRunner().invoke(cli, ["db", "info"]).output
    assert "db version: 3.5 'Add updated_time.' (revision 0bee3d6dba76)" in info
    assert "newest supported: 3.5" in info and "compatible: yes" in info
    versions = CliRunner().invoke(cli, ["db", "versions"]).output.splitlines()
    assert versions[0].split() == ["Version", "Migration", "Description"]
    assert versions[-1] == "3.5     0bee3d6dba76 Add updated_time."
    assert len(versions) == 13

    with sqlite3.connect(reference_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f68b3aaee9cc'")
    old = make_cli(f"sqlite:///{reference_db}")
    info = CliRunner().invoke(old, ["db", "info"]).output
    assert "db version: 3.3 'Add job and value indexes.'" in info and "compatible: no" in info
    upgrade = CliRunner().invoke(old, ["db", "upgrade"])
    assert upgrade.exit_code != 0 and "pip install redun==0.44.1" in upgrade.output
