"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from redun.task import import_path

pytest_plugins = [
    "tests.services.postgres",
    "tests.services.s3",
    "tests.services.gcs",
    "tests.services.docker",
]

ROOT = Path(__file__).resolve().parent.parent


def _find_shared() -> Path:
    for candidate in (ROOT / "shared", ROOT.parent / "shared"):
        if (candidate / "compat" / "hash_vectors.json").exists():
            return candidate
    return ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def hash_vectors() -> dict:
    path = _find_shared() / "compat" / "hash_vectors.json"
    if not path.exists():
        path = ROOT / "tests" / "data" / "hash_vectors.json"
    return json.loads(path.read_text())


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch):
    """Write (or rewrite) a workflow module and import it afresh, as a new `redun run` would."""
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
