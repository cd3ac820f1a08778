"""A workflow mixing local and docker tasks, on a real Docker engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from redun_docker import DockerExecutor

from redun.scheduler import Scheduler

WORKFLOW = """
    from redun import task, script, File

    @task(namespace="dock_wf", executor="docker")
    def square(x):
        import os
        return (x * x, os.path.exists("/.dockerenv"))

    @task(namespace="dock_wf")
    def total(pairs):
        return (sum(p[0] for p in pairs), all(p[1] for p in pairs))

    @task(namespace="dock_wf")
    def main(n=2):
        return total([square(i + 1) for i in range(n)])

    @task(namespace="dock_wf", executor="docker", script=True)
    def hello(name):
        return f"test -f /.dockerenv && echo hello {name} from docker"

    @task(namespace="dock_wf")
    def staged(src, dest):
        return script(
            "tr a-z A-Z < in.txt > out.txt",
            inputs=[File(src).stage("in.txt")],
            outputs=File(dest).stage("out.txt"),
            tempdir=True,
            executor="docker",
        )
"""


@pytest.fixture
def launches(monkeypatch) -> list:
    """Every command the docker executor starts (or reattaches to)."""
    started: list = []
    original = DockerExecutor.launch

    def launch(self, command):
        started.append(command)
        return original(self, command)

    monkeypatch.setattr(DockerExecutor, "launch", launch)
    return started


def _run(tmp_path: Path, options: dict, make_expr):
    config = {"backend": {"db_uri": f"sqlite:///{tmp_path / 'redun.db'}"}}
    config["executors.docker"] = options
    scheduler = Scheduler(config=config)
    try:
        return scheduler.run(make_expr())
    finally:
        scheduler.close()


def test_mixed_workflow_runs_caches_and_records(
    write_workflow, docker_options, launches, tmp_path
) -> None:
    workflow = write_workflow("dock_wf_main", WORKFLOW)
    assert _run(tmp_path, docker_options, lambda: workflow.main(2)) == (1 + 4, True)
    assert len(launches) == 2
    assert {c.labels["redun.task"] for c in launches} == {"dock_wf.square"}
    with sqlite3.connect(tmp_path / "redun.db") as db:
        jobs = db.execute(
            "SELECT task.namespace || '.' || task.name, job.call_hash FROM job "
            "JOIN task ON job.task_hash = task.hash"
        ).fetchall()
        calls = {row[0] for row in db.execute("SELECT call_hash FROM call_node")}
    assert sorted(name for name, _ in jobs) == [
        "dock_wf.main",
        "dock_wf.square",
        "dock_wf.square",
        "dock_wf.total",
    ]
    assert all(call_hash in calls for _, call_hash in jobs)

    launches.clear()
    assert _run(tmp_path, docker_options, lambda: workflow.main(2)) == (5, True)
    assert launches == []  # cached: no container


def test_script_task_and_script_staging_in_containers(
    write_workflow, docker_options, tmp_path
) -> None:
    workflow = write_workflow("dock_wf_script", WORKFLOW)
    assert (
        _run(tmp_path, docker_options, lambda: workflow.hello("redun"))
        == b"hello redun from docker\n"
    )
    (tmp_path / "src.txt").write_text("staged text\n")
    dest = tmp_path / "results" / "dest.txt"
    out = _run(
        tmp_path, docker_options, lambda: workflow.staged(str(tmp_path / "src.txt"), str(dest))
    )
    assert out.path == str(dest) and dest.read_text() == "STAGED TEXT\n"
