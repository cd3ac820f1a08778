"""The design document's hello world, through the real `redun` command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello_world" / "hello_world.py"
REDUN = shutil.which("redun", path=os.path.dirname(sys.executable)) or "redun"


def redun(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # Bytecode caching stays on: an edit within the same second must still be seen.
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDUN_CONFIG", "PYTHONDONTWRITEBYTECODE")
    }
    return subprocess.run(
        [REDUN, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def ran(proc: subprocess.CompletedProcess) -> list[str]:
    """Names of the tasks the run actually ran (its 'Run' lines)."""
    return re.findall(r"Run\s+Job \w+:\s+hello_world\.(\w+)\(", proc.stderr)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / "hello_world.py")
    return tmp_path


def test_hello_world_behaves_as_the_design_document_describes(workdir: Path):
    first = redun(workdir, "run", "hello_world.py", "main")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "'Hello, World!'"
    assert sorted(ran(first)) == ["get_planet", "greeter", "main"]
    assert (workdir / ".redun" / "redun.db").exists()

    second = redun(workdir, "run", "hello_world.py", "main")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "'Hello, World!'"
    assert ran(second) == []

    hi = redun(workdir, "run", "hello_world.py", "main", "--greet", "Hi")
    assert hi.returncode == 0, hi.stderr
    assert hi.stdout.strip().splitlines()[-1] == "'Hi, World!'"
    assert sorted(ran(hi)) == ["greeter", "main"]

    source = (workdir / "hello_world.py").read_text()
    (workdir / "hello_world.py").write_text(source.replace('return "World"', 'return "Venus"'))
    venus = redun(workdir, "run", "hello_world.py", "main")
    assert venus.returncode == 0, venus.stderr
    assert venus.stdout.strip().splitlines()[-1] == "'Hello, Venus!'"
    assert sorted(ran(venus)) == ["get_planet", "greeter"]

    mars = redun(workdir, "run", "hello_world.py", "greeter", "--greet", "Hello", "--thing", "Mars")
    assert mars.returncode == 0, mars.stderr
    assert mars.stdout.strip().splitlines()[-1] == "'Hello, Mars!'"


def test_hello_world_runs_as_a_plain_script(workdir: Path):
    proc = subprocess.run(
        [sys.executable, "hello_world.py"], cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Hello, World!"
    assert not (workdir / ".redun").exists()  # Scheduler() keeps its record in memory
