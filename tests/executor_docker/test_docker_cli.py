"""`redun run` and `redun launch` with the docker executor: errors as the user sees them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

WORKFLOW = """
    from redun import task

    @task(namespace="dock_cli", executor="docker")
    def boom(x: int):
        raise ValueError(f"bad input {x}")

    @task(namespace="dock_cli")
    def local_only(x: int):
        return x + 1
"""


def _project(tmp_path: Path, options: dict) -> Path:
    (tmp_path / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    config_dir = tmp_path / ".redun"
    config_dir.mkdir()
    lines = ["[backend]", f"db_uri = sqlite:///{config_dir / 'redun.db'}", "[executors.docker]"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    (config_dir / "redun.ini").write_text("\n".join(lines) + "\n")
    return config_dir


def _redun(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "redun", *args], cwd=tmp_path, capture_output=True, text=True
    )


def test_task_error_is_one_clear_error_with_the_users_traceback(docker_options, tmp_path):
    _project(tmp_path, docker_options)
    done = _redun(tmp_path, "run", "workflow.py", "dock_cli.boom", "--x", "3")
    assert done.returncode != 0
    assert "ValueError: bad input 3" in done.stderr
    assert 'workflow.py", line 6, in boom' in done.stderr
    assert "/redun/executors/" not in done.stderr and "redun_docker" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("redun: error:")]
    assert errors == ["redun: error: task dock_cli.boom failed: ValueError: bad input 3"]


def test_missing_image_is_one_line_naming_it(docker_options, tmp_path):
    _project(tmp_path, {**docker_options, "image": "redun-no-such-image:1"})
    done = _redun(tmp_path, "run", "workflow.py", "dock_cli.boom", "--x", "3")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("redun: error:")]
    assert len(errors) == 1 and "image 'redun-no-such-image:1'" in errors[0]
    assert "never pulls" in errors[0] and "docker load" in errors[0]
    assert "Traceback" not in done.stderr


def test_launch_runs_the_whole_workflow_in_a_container(docker_options, tmp_path):
    config_dir = _project(tmp_path, docker_options)
    done = _redun(
        tmp_path,
        "launch",
        "--executor",
        "docker",
        "--wait",
        "redun",
        "-c",
        str(config_dir),
        "run",
        "workflow.py",
        "dock_cli.local_only",
        "--x",
        "41",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "launched" in done.stdout and "42" in done.stdout
    with sqlite3.connect(config_dir / "redun.db") as db:
        assert db.execute("SELECT COUNT(*) FROM execution").fetchone()[0] == 1


SLOW_WORKFLOW = """
    import time
    from redun import task

    @task(namespace="dock_int", executor="docker")
    def slow(x: int):
        time.sleep(120)
        return x
"""


def test_ctrl_c_stops_the_running_containers(docker_engine, docker_options, tmp_path):
    import signal
    import time

    config_dir = _project(tmp_path, docker_options)
    (tmp_path / "workflow.py").write_text(textwrap.dedent(SLOW_WORKFLOW))
    proc = subprocess.Popen(
        [sys.executable, "-m", "redun", "run", "workflow.py", "dock_int.slow", "--x", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    labels = {"label": "redun.task=dock_int.slow"}
    deadline = time.monotonic() + 60
    running: list = []
    while not running and time.monotonic() < deadline:  # the test waits for the container
        running = docker_engine.client.containers.list(filters=labels)
        if not running:
            time.sleep(0.2)
    assert running, "the docker job never started"

    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "interrupted" in err
    assert docker_engine.client.containers.list(all=True, filters=labels) == []
    with sqlite3.connect(config_dir / "redun.db") as conn:  # no job left running
        assert conn.execute("select count(*) from job where end_time is null").fetchone() == (0,)
