"""Fixtures for the language-layer tests: temporary task modules and fresh interpreters."""

from __future__ import annotations

import importlib
import itertools
import linecache
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

_counter = itertools.count()


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """Write Python source to ``tmp_path/<name>.py`` and import it by name.

    Without an explicit name, each module gets a unique one so tests never see
    each other's modules or tasks. Imported modules are forgotten afterwards.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    # Rewritten modules must not be read back from a .pyc trusted by mtime and size.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    # A module may be rewritten under the same name: never read stale bytecode.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    created: list[str] = []

    def make(source: str, name: str | None = None) -> ModuleType:
        name = name or f"langmod_{os.getpid()}_{next(_counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        linecache.clearcache()  # inspect.getsource must see the new text
        sys.modules.pop(name, None)
        created.append(name)
        return importlib.import_module(name)

    yield make
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def run_python(tmp_path: Path) -> Callable[..., str]:
    """Run code in a fresh interpreter (``tmp_path`` on its path) and return its stdout."""

    def run(code: str, hashseed: int = 0, pythonpath: Path | None = tmp_path) -> str:
        env = dict(os.environ, PYTHONHASHSEED=str(hashseed))
        paths = [str(pythonpath)] if pythonpath is not None else []
        paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        # An empty working directory: only ``pythonpath`` makes modules importable.
        cwd = tmp_path / "proc_cwd"
        cwd.mkdir(exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            cwd=str(cwd),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    return run
