"""Fixtures for script tests: workflow modules, memory:// roots, the CLI (schedulers and
SQL on the record come from tests/core/conftest.py)."""

from __future__ import annotations

import importlib
import itertools
import linecache
import os
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner, Result

_counter = itertools.count()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory (scripts without a tempdir run here)."""
    path = tmp_path / "work"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Write a workflow module (``{name}`` placeholders filled from keyword arguments)
    under a unique name and import it."""
    source_dir = tmp_path / "modules"
    source_dir.mkdir()
    monkeypatch.syspath_prepend(str(source_dir))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    created: list[str] = []

    def make(source: str, **values: object) -> ModuleType:
        name = f"scriptmod_{os.getpid()}_{next(_counter)}"
        text = textwrap.dedent(source)
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        (source_dir / f"{name}.py").write_text(text)
        importlib.invalidate_caches()
        linecache.clearcache()
        created.append(name)
        return importlib.import_module(name)

    yield make
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A fresh memory:// directory, removed afterwards."""
    import fsspec

    root = f"memory://scripting-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def runs(tmp_path: Path) -> Callable[[], int]:
    """How many times the scripts appended a line to ``tmp_path/runs.log``."""

    def count() -> int:
        path = tmp_path / "runs.log"
        return len(path.read_text().splitlines()) if path.exists() else 0

    count.path = tmp_path / "runs.log"  # type: ignore[attr-defined]
    return count


@pytest.fixture
def run_cli(tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable:
    """``redun -c <tmp config> ARGS...`` in-process; returns click's Result."""
    from redun.cli.main import make_cli
    from redun.plugins import reset_plugins

    monkeypatch.delenv("REDUN_CONFIG", raising=False)
    monkeypatch.delenv("REDUN_PLUGINS", raising=False)
    reset_plugins()
    config_dir = tmp_path / ".redun"

    def run(*args: str) -> Result:
        return CliRunner().invoke(
            make_cli(), ["-c", str(config_dir), *map(str, args)], catch_exceptions=False
        )

    yield run
    reset_plugins()
