"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
