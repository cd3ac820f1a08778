"""The design document's File reactivity example (examples/files), through `redun run`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "files"
REDUN = shutil.which("redun", path=os.path.dirname(sys.executable)) or "redun"


def redun(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}
    return subprocess.run(
        [REDUN, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def ran(proc: subprocess.CompletedProcess) -> list[str]:
    """Names of the tasks the run actually ran (its 'Run' lines)."""
    assert proc.returncode == 0, proc.stderr
    return sorted(re.findall(r"Run\s+Job \w+:\s+examples\.files\.(\w+)\(", proc.stderr))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("process_data.py", "input.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


def run_main(workdir: Path) -> subprocess.CompletedProcess:
    return redun(workdir, "run", "process_data.py", "main")


def test_input_edit_output_delete_and_tamper_each_rerun_process_data(workdir: Path):
    output = workdir / "output.txt"
    assert ran(run_main(workdir)) == ["main", "process_data"]
    assert output.read_text() == "2 rows, total 7\n"

    assert ran(run_main(workdir)) == []  # everything cached

    # An edited input file has a new hash: process_data runs on it. main runs too (as in
    # redun 0.44.1): its cached result, process_data(File('input.csv')), holds the old hash.
    with open(workdir / "input.csv", "a") as out:
        out.write("plums,5\n")
    edited = run_main(workdir)
    assert ran(edited) == ["main", "process_data"]
    assert "Cached result is no longer valid" in edited.stderr
    assert output.read_text() == "3 rows, total 12\n"
    assert ran(run_main(workdir)) == []

    # A deleted output makes the cached result invalid: the task that wrote it runs again,
    # although its parent main is cached.
    output.unlink()
    assert ran(run_main(workdir)) == ["process_data"]
    assert output.read_text() == "3 rows, total 12\n"

    # So does an output altered behind redun's back.
    output.write_text("tampered\n")
    assert ran(run_main(workdir)) == ["process_data"]
    assert output.read_text() == "3 rows, total 12\n"
    assert ran(run_main(workdir)) == []


def test_missing_input_names_the_path_and_the_task(workdir: Path):
    (workdir / "input.csv").unlink()
    proc = redun(workdir, "run", "process_data.py", "main")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "redun: error: task examples.files.process_data: file 'input.csv' does not exist"
    assert not (workdir / "output.txt").exists()

    # Nothing half-done was recorded as valid: with the input back, the task runs.
    shutil.copy(EXAMPLE / "input.csv", workdir / "input.csv")
    assert ran(run_main(workdir)) == ["main", "process_data"]
