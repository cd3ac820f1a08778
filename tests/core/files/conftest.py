"""Fixtures for file tests: fresh plugins (schedulers and modules come from tests/core)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from redun.plugins import reset_plugins


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plugins (and the filesystem supports built from them) load again in the test and after."""
    monkeypatch.setenv("REDUN_PLUGINS", "")  # only the built-in plugin
    reset_plugins()
    yield
    reset_plugins()
