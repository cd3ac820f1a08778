"""Sessions: `nox -s tests` (the whole suite), `nox -s lint`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True

PACKAGES = ["redun-core"]
TEST_PLUGINS = ["tests/plugins/redun-plugin-example", "tests/plugins/redun-plugin-broken"]
TEST_DEPS = ["pytest>=8", "pytest-timeout"]


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Install every package and the test plugins, then run pytest."""
    for package in PACKAGES + TEST_PLUGINS:
        session.install("-e", package)
    session.install(*TEST_DEPS)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and format check over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
