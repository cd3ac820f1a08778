"""Fixtures for file tests: schedulers on a SQLite file, workflow modules, fresh plugins."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from redun.plugins import reset_plugins
from redun.scheduler import Scheduler
from redun.task import import_path


@pytest.fixture
def make_scheduler(tmp_path: Path):
    """Build schedulers that share one SQLite record on disk (like repeated `redun run`s)."""

    def make() -> Scheduler:
        return Scheduler(config={"backend": {"db_uri": f"sqlite:///{tmp_path / 'redun.db'}"}})

    return make


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a workflow module and import it afresh, as a new `redun run` would."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, source: str):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        sys.modules.pop(name, None)
        written.append(name)
        return import_path(str(path))

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plugins (and the filesystem supports built from them) load again in the test and after."""
    monkeypatch.setenv("REDUN_PLUGINS", "")  # only the built-in plugin
    reset_plugins()
    yield
    reset_plugins()
