"""Fixtures for CLI, config and plugin tests.

The test plugins under tests/plugins/ are made visible through generated
``.dist-info`` directories on ``sys.path`` (and PYTHONPATH for subprocesses),
so the real entry-point discovery runs whether or not they are pip-installed.
"""

from __future__ import annotations

import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
from click.testing import CliRunner, Result

from redun.cli.main import make_cli
from redun.plugins import reset_plugins

ROOT = Path(__file__).resolve().parents[3]
PLUGINS_DIR = ROOT / "tests" / "plugins"
PLUGIN_PACKAGES = ("redun-plugin-example", "redun-plugin-broken")


def write_dist_info(site: Path, package_dir: Path) -> None:
    """A minimal installed-distribution record for the package at ``package_dir``."""
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[redun]"] + [f"{k} = {v}" for k, v in project["entry-points"]["redun"].items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """sys.path entries that make both test plugins installed distributions."""
    site = tmp_path_factory.mktemp("plugin-site")
    for package in PLUGIN_PACKAGES:
        write_dist_info(site, PLUGINS_DIR / package)
    return [str(site)] + [str(PLUGINS_DIR / package / "src") for package in PLUGIN_PACKAGES]


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plugins load again inside the test, and again after it."""
    monkeypatch.delenv("REDUN_PLUGINS", raising=False)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def with_plugins(
    plugin_site: list[str], fresh_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Both test plugins installed (on sys.path) for this test, and only them loaded (plugin
    packages installed in the environment, e.g. redun-executor-docker, are left out)."""
    for entry in reversed(plugin_site):
        monkeypatch.syspath_prepend(entry)
    monkeypatch.setenv("REDUN_PLUGINS", "example,broken")
    return plugin_site


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory with no redun config above it."""
    home = tmp_path / "work"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.delenv("REDUN_CONFIG", raising=False)
    return home


@pytest.fixture
def invoke(fresh_plugins: None):
    """Run the ``redun`` command line in-process; returns click's Result."""

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(make_cli(), list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def write_workflow(tmp_path: Path):
    """Write a workflow file with a unique module name; returns its path."""

    def write(source: str, directory: Path | None = None) -> Path:
        directory = directory or tmp_path
        path = directory / f"wf_{uuid.uuid4().hex[:10]}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One config dir (and database) for all the runs of a test module."""
    return tmp_path_factory.mktemp("shared") / ".redun"


@pytest.fixture(scope="session")
def redun_exe() -> str:
    """The ``redun`` console script of the running interpreter's environment."""
    path = os.path.join(os.path.dirname(sys.executable), "redun")
    assert os.path.exists(path), f"{path} is missing: pip install -e redun-core"
    return path
