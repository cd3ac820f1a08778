"""Sessions: `nox -s tests` (the whole suite), `nox -s lint`, `nox -s bench`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nox
import nox.virtualenv

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True

PACKAGES = ["redun-core", "redun-executor-docker"]
TEST_PLUGINS = ["tests/plugins/redun-plugin-example", "tests/plugins/redun-plugin-broken"]
TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout",
    "psycopg2-binary",
    "uv",
    "moto[server]>=5",
    "gcp-storage-emulator>=2024.8",
    "docker>=7",
]
# redun-core is installed with these extras in the tests session (S3 and GCS files).
TEST_EXTRAS = {"redun-core": "[s3,gcs]"}
REFERENCE = "redun==0.44.1"


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Install every package and the test plugins, then run pytest."""
    for package in PACKAGES + TEST_PLUGINS:
        session.install("-e", package + TEST_EXTRAS.get(package, ""))
    session.install(*TEST_DEPS)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and format check over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _uv() -> str:
    """The uv executable nox itself uses for its uv backend."""
    return getattr(nox.virtualenv, "UV", None) or shutil.which("uv") or "uv"


def _reference_redun(session: nox.Session) -> str:
    """`redun` of a separate virtualenv holding redun 0.44.1 from PyPI (made once)."""
    location = Path(session.virtualenv.location).parent / "bench-reference-redun-0.44.1"
    redun = location / "bin" / "redun"
    if redun.exists():
        done = subprocess.run([redun, "--version"], capture_output=True, text=True, check=False)
        if "0.44.1" in done.stdout + done.stderr:
            return str(redun)
    uv = _uv()
    session.run(
        uv, "venv", "--clear", "--python", str(session.python), str(location), external=True
    )
    python = str(location / "bin" / "python")
    session.run(
        uv, "pip", "install", "--python", python, "--compile-bytecode", REFERENCE, external=True
    )
    return str(redun)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks: ours (./redun-core) against redun 0.44.1 (see benchmarks/)."""
    session.install("--reinstall-package", "redun-core", "--compile-bytecode", "./redun-core")
    ours = str(Path(session.bin) / "redun")
    args = ["--ours", ours]
    if "--no-reference" not in session.posargs:
        args += ["--reference", _reference_redun(session)]
    session.run("python", "-m", "benchmarks", *args, *session.posargs)
