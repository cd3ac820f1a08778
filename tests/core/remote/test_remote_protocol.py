"""A real workflow through the remote-job protocol, with subprocesses as the remote side."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from subprocess_executor import SubprocessExecutor

from redun.scheduler import Scheduler

WORKFLOW = """
    from redun import task, script, File

    @task(namespace="remote_proto", executor="remote")
    def square(x):
        return x * x

    @task(namespace="remote_proto")
    def total(values):
        return sum(values)

    @task(namespace="remote_proto", executor="remote")
    def boom(x):
        raise RuntimeError(f"boom on {x}")

    @task(namespace="remote_proto")
    def main(n=3):
        return total([square(i) for i in range(n)])

    @task(namespace="remote_proto")
    def staged(src, dest):
        return script(
            "tr a-z A-Z < in.txt > out.txt",
            inputs=[File(src).stage("in.txt")],
            outputs=File(dest).stage("out.txt"),
            tempdir=True,
            executor="remote",
        )
"""


@pytest.fixture
def workflow(write_module, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the code package is made from the working directory
    return write_module("remote_proto_workflow", WORKFLOW)


def _run(db_path: Path, scratch: Path, expr_factory):
    scheduler = Scheduler(config={"backend": {"db_uri": f"sqlite:///{db_path}"}})
    executor = SubprocessExecutor("remote", config={"scratch": str(scratch)})
    scheduler.add_executor(executor)
    try:
        return scheduler.run(expr_factory()), executor
    finally:
        scheduler.close()


def test_workflow_runs_remotely_then_is_cached(workflow, db_path: Path, tmp_path: Path) -> None:
    result, executor = _run(db_path, tmp_path / "scratch", lambda: workflow.main(3))
    assert result == 0 + 1 + 4
    assert len(executor.commands) == 3
    assert all("oneshot" in cmd and "remote_proto_workflow.py" in cmd for cmd in executor.commands)
    assert len(list((tmp_path / "scratch" / "code").iterdir())) == 1  # uploaded once
    with sqlite3.connect(db_path) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT task.namespace || '.' || task.name FROM job "
                "JOIN task ON job.task_hash = task.hash"
            )
        ]
        calls = db.execute("SELECT COUNT(*) FROM call_node").fetchone()[0]
    assert names.count("remote_proto.square") == 3 and calls >= 5

    again, executor = _run(db_path, tmp_path / "scratch", lambda: workflow.main(3))
    assert again == 5 and executor.commands == []  # cached: nothing started


def test_error_comes_back_with_the_users_traceback(workflow, db_path, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="boom on 5") as raised:
        _run(db_path, tmp_path / "scratch", lambda: workflow.boom(5))
    text = raised.value.__redun_traceback__
    assert "remote_proto_workflow.py" in text and "in boom" in text


def test_script_with_staging_runs_remotely(workflow, db_path, tmp_path) -> None:
    (tmp_path / "src.txt").write_text("hello\n")
    dest = tmp_path / "out" / "dest.txt"
    result, executor = _run(
        db_path, tmp_path / "scratch", lambda: workflow.staged(str(tmp_path / "src.txt"), str(dest))
    )
    assert result.path == str(dest) and dest.read_text() == "HELLO\n"
    assert len(executor.commands) == 1 and "redun.scripting" in executor.commands[0]
