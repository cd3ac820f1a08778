"""`redun oneshot`: success, the error with its traceback, an output already there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from redun.executors.remote import scratch
from redun.executors.remote.code import package_code, upload_code

WORKFLOW = """
    from redun import task

    @task(namespace="oneshot_test")
    def add(a, b=10):
        return a + b

    @task(namespace="oneshot_test")
    def fail(x):
        raise ValueError(f"bad value {x}")

    @task(namespace="oneshot_test", script=True)
    def shout(word):
        return f"echo {word}"
"""


def _oneshot(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "redun", "oneshot", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def job(tmp_path: Path):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    code = upload_code(package_code(str(code_dir)), str(tmp_path / "scratch"))
    run_dir = tmp_path / "elsewhere"  # the code arrives only through the package
    run_dir.mkdir()

    def run(task: str, args: tuple, kwargs: dict, *extra: str) -> tuple:
        paths = scratch.job_paths(str(tmp_path / "scratch"), task)
        scratch.write_pickle(paths.input, (args, kwargs))
        flags = ["-i", paths.input, "-o", paths.output, "-e", paths.error, "--code", code]
        done = _oneshot(run_dir, "workflow.py", f"oneshot_test.{task}", *flags, *extra)
        return done, paths

    return run


def test_success_writes_the_pickled_result(job) -> None:
    done, paths = job("add", (1,), {"b": 2})
    assert done.returncode == 0, done.stderr
    assert scratch.read_pickle(paths.output) == 3
    assert not scratch.exists(paths.error)


def test_script_task_runs_its_script(job) -> None:
    done, paths = job("shout", ("hi",), {})
    assert done.returncode == 0, done.stderr
    assert scratch.read_pickle(paths.output) == b"hi\n"


def test_error_is_written_with_the_users_traceback(job) -> None:
    done, paths = job("fail", (7,), {})
    assert done.returncode == 1
    error, text = scratch.read_pickle(paths.error)
    assert isinstance(error, ValueError) and str(error) == "bad value 7"
    assert "workflow.py" in text and "in fail" in text and "ValueError: bad value 7" in text
    assert "/redun/executors/" not in text  # the engine's frames are left out
    assert "bad value 7" in done.stderr
    assert not scratch.exists(paths.output)


def test_valid_output_already_there_returns_at_once(job) -> None:
    done, paths = job("add", (1,), {})
    assert scratch.read_pickle(paths.output) == 11
    scratch.write_pickle(paths.output, "kept")  # an existing output is not recomputed
    again, _ = job("add", (1,), {})
    assert again.returncode == 0 and scratch.read_pickle(paths.output) == "kept"
    forced, _ = job("add", (1,), {}, "--no-cache")
    assert forced.returncode == 0 and scratch.read_pickle(paths.output) == 11


def test_unknown_task_is_an_error_in_the_error_file(job) -> None:
    done, paths = job("missing", (), {})
    assert done.returncode == 1
    error, _ = scratch.read_pickle(paths.error)
    assert "task oneshot_test.missing is not defined by workflow.py" in str(error)
