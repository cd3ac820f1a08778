"""redun 0.44.1, installed from PyPI, reads the records we write: our cache is its cache."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.acceptance.test_hello_world import EXAMPLE, ran, redun

REFERENCE_VERSION = "0.44.1"
INSTALL_TIMEOUT = 900

FLOW = """
from redun import task

redun_namespace = "compat_flow"


@task(nout=2)
def pair(x: int):
    return x, x + 1


@task()
def add(a: int, b: int):
    return a + b


@task()
def main(n: int = 1):
    first, second = pair(n)
    shared = add(first, second)
    return shared * add(second, second) + shared
"""

OPTIONS_MODULE = """
from redun import task

try:
    from redun import scheduler_task
except ImportError:  # redun 0.44.1 keeps it in redun.scheduler
    from redun.scheduler import scheduler_task

redun_namespace = "compat_opts"


@task(nout=2)
def pair(x):
    return x, x + 1


@task()
def greet(greeting, thing=None):
    return greeting


@scheduler_task(namespace="compat_opts")
def passthrough(scheduler, parent_job, sexpr, value):
    return value


def build():
    first, second = pair.options(memory=3)(1)
    return greet.options(executor="batch")(passthrough(first + 1), thing=[second, {"k": 2.5}])
"""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redun-tests" / f"redun-{REFERENCE_VERSION}"


def _install_commands(venv: Path) -> list[list[str]]:
    python = str(venv / "bin" / "python")
    package = f"redun=={REFERENCE_VERSION}"
    if importlib.util.find_spec("uv") is not None:
        uv = [sys.executable, "-m", "uv"]
        return [
            [*uv, "venv", "--python", sys.executable, str(venv)],
            [*uv, "pip", "install", "--python", python, package],
        ]
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "--disable-pip-version-check", package],
    ]


def _install_reference(venv: Path) -> None:
    """Install redun 0.44.1 from PyPI into ``venv`` unless an earlier run already did."""
    done = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time
        if done.exists():
            return
        shutil.rmtree(venv, ignore_errors=True)  # a run that stopped half-way
        for command in _install_commands(venv):
            proc = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            if proc.returncode != 0:
                last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
                raise RuntimeError(f"`{' '.join(command)}` failed: {' '.join(last).strip()}")
        done.write_text(REFERENCE_VERSION)


@pytest.fixture(scope="session")
def reference_bin() -> Path:
    """The bin directory of a virtualenv holding redun 0.44.1 from PyPI (cached across runs)."""
    venv = _cache_dir()
    try:
        _install_reference(venv)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        problem = f"cannot install redun {REFERENCE_VERSION} from PyPI into {venv}: {error}"
    else:
        return venv / "bin"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(problem, pytrace=False)  # CI must check compatibility, never skip it
    pytest.skip(f"{problem} (no network?)")


def reference(bin_dir: Path, cwd: Path, program: str, *args: str) -> subprocess.CompletedProcess:
    """Run a program of the redun 0.44.1 virtualenv, isolated from our own package."""
    hidden = {"REDUN_CONFIG", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    return subprocess.run(
        [str(bin_dir / program), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def cached_jobs(proc: subprocess.CompletedProcess, namespace: str) -> list[str]:
    """Task names of the 'Cached Job' lines redun 0.44.1 printed."""
    return re.findall(rf"Cached Job \w+:\s+{namespace}\.(\w+)\(", proc.stderr)


def assert_fully_cached(proc: subprocess.CompletedProcess, namespace: str, jobs: list[str]):
    assert proc.returncode == 0, proc.stderr
    assert f"redun :: version {REFERENCE_VERSION}" in proc.stderr
    assert not re.search(r"\bRun\s+Job\b", proc.stderr), proc.stderr
    assert sorted(cached_jobs(proc, namespace)) == sorted(jobs), proc.stderr


def test_redun_0_44_reuses_every_job_of_our_hello_world_record(reference_bin, tmp_path: Path):
    shutil.copy(EXAMPLE, tmp_path / "hello_world.py")
    for args, expected in (
        (["main"], "'Hello, World!'"),
        (["main", "--greet", "Hi"], "'Hi, World!'"),
    ):
        ours = redun(tmp_path, "run", "hello_world.py", *args)
        assert ours.returncode == 0, ours.stderr
        assert ran(ours), ours.stderr  # our run wrote these jobs

        theirs = reference(reference_bin, tmp_path, "redun", "run", "hello_world.py", *args)
        assert_fully_cached(theirs, "hello_world", ["get_planet", "greeter", "main"])
        assert theirs.stdout.strip().splitlines()[-1] == expected


def test_redun_0_44_reuses_unpacked_and_shared_expressions(reference_bin, tmp_path: Path):
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    ours = redun(tmp_path, "run", "flow.py", "main")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip().splitlines()[-1] == "15"

    theirs = reference(reference_bin, tmp_path, "redun", "run", "flow.py", "main")
    assert_fully_cached(theirs, "compat_flow", ["add", "add", "main", "pair"])
    assert theirs.stdout.strip().splitlines()[-1] == "15"


def test_redun_0_44_unpickles_options_and_nout_as_it_builds_them(reference_bin, tmp_path: Path):
    (tmp_path / "compat_opts.py").write_text(textwrap.dedent(OPTIONS_MODULE))
    write = "import compat_opts; open('expr.pkl', 'wb').write(compat_opts.build().serialize())"
    env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    ours = subprocess.run(
        [sys.executable, "-c", write], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert ours.returncode == 0, ours.stderr

    read = """
        import json, pickle, sys
        sys.path.insert(0, ".")
        import compat_opts
        loaded = pickle.load(open("expr.pkl", "rb"))
        native = compat_opts.build()
        special = loaded.args[0]
        pair = special.args[0].args[0].args[0]
        print(json.dumps({
            "same_hash": loaded.get_hash() == native.get_hash(),
            "outer": [type(loaded).__name__, loaded.task_name, loaded._options],
            "special": [type(special).__name__, special.task_name],
            "pair": [pair.task_name, pair._options, pair._length],
            "thing": repr(loaded.kwargs["thing"]),
        }))
    """
    theirs = reference(reference_bin, tmp_path, "python", "-c", textwrap.dedent(read))
    assert theirs.returncode == 0, theirs.stderr
    seen = json.loads(theirs.stdout)
    assert seen == {
        "same_hash": True,
        "outer": ["TaskExpression", "compat_opts.greet", {"executor": "batch"}],
        "special": ["SchedulerExpression", "compat_opts.passthrough"],
        "pair": ["compat_opts.pair", {"memory": 3}, 2],
        "thing": "[compat_opts.pair(1)[1], {'k': 2.5}]",
    }
