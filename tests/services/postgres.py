"""A throwaway PostgreSQL server for the tests: initdb into a temp dir, listen on 127.0.0.1.

With CI=true a missing PostgreSQL is a failure; elsewhere the tests that need it skip.
``REDUN_TEST_POSTGRES_URI`` points the tests at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.common import free_port, missing


def _bin_dir() -> Path | None:
    explicit = os.environ.get("REDUN_TEST_PG_BIN")
    if explicit:
        return Path(explicit)
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if versions:
        return Path(versions[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run server commands as the postgres user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server_uri() -> Iterator[str]:
    """URI of a PostgreSQL server the tests may create databases on."""
    existing = os.environ.get("REDUN_TEST_POSTGRES_URI")
    if existing:
        yield existing
        return
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        missing("PostgreSQL", "no PostgreSQL server binaries (install Debian's postgresql package)")
    assert bin_dir is not None
    # Not under pytest's (root-only) temp tree: the server runs as the postgres user.
    data = Path(tempfile.mkdtemp(prefix="redun-test-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
    port = free_port()
    subprocess.run(
        _as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                           "-A", "trust", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                           "-l", str(data / "server.log"), "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                               "-w", "stop"]),
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_uri(postgres_server_uri: str) -> Iterator[str]:
    """URI of a new, empty database on the test server (dropped after the test)."""
    from sqlalchemy import make_url, text

    from redun.backends.db.engine import postgres_engine

    name = f"redun_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_engine(postgres_server_uri, "test server").execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(postgres_server_uri).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.engine.dispose()
