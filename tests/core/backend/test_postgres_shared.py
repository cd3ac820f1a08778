"""PostgreSQL in use: credentials from the environment (never printed), and two
schedulers writing one record at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from redun import Scheduler, task
from redun.backends.db import RedunBackend
from redun.backends.db.engine import postgres_engine

SECRET = "s3cret-Pa55"


@task(namespace="pg_shared")
def double(x: int) -> int:
    return 2 * x


def _admin(uri: str):
    return postgres_engine(uri, "test").execution_options(isolation_level="AUTOCOMMIT")


@pytest.fixture
def env_user(pg_uri: str) -> str:
    """A role that owns the test database, for credentials given by environment variables."""
    role = "redun_env_user"
    with _admin(pg_uri).connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'"))
        database = make_url(pg_uri).database
        conn.execute(text(f"ALTER DATABASE {database} OWNER TO {role}"))
    return role


def test_credentials_come_from_the_environment(
    pg_uri: str,
    env_user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = make_url(pg_uri).set(username=None, password=None).render_as_string()
    monkeypatch.setenv("REDUN_DB_USERNAME", env_user)
    monkeypatch.setenv("REDUN_DB_PASSWORD", SECRET)
    scheduler = Scheduler(config={"backend": {"db_uri": bare}})
    assert scheduler.run(double(21)) == 42
    scheduler.close()
    backend = RedunBackend(bare)
    backend.load()
    with backend.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == env_user
        assert conn.execute(text("SELECT count(*) FROM execution")).scalar() == 1
    backend.close()

    # [backend] db_username_env / db_password_env name other variables.
    monkeypatch.delenv("REDUN_DB_USERNAME")
    monkeypatch.setenv("TEAM_DB_USER", env_user)
    named = RedunBackend(bare, config={"db_username_env": "TEAM_DB_USER"})
    named.load()
    with named.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == env_user
    named.close()


def _redun(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "redun", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_passwords_are_never_printed(tmp_path: Path) -> None:
    config = tmp_path / ".redun"
    config.mkdir()
    # Nothing listens on port 9 of the loopback address: the connection fails at once.
    (config / "redun.ini").write_text(
        "[backend]\ndb_uri = postgresql://someone:hunter2@127.0.0.1:9/nowhere\n"
    )
    proc = _redun(tmp_path, "db", "info", env={"REDUN_DB_PASSWORD": SECRET})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("redun: error:"), err
    assert "someone:***@127.0.0.1:9/nowhere" in lines[0]
    assert SECRET not in out + err and "hunter2" not in out + err


WORKFLOW = """
from redun import task

redun_namespace = "pg_concurrent"

@task()
def step(i: int, who: str) -> int:
    return i * i

@task()
def shared(i: int) -> int:
    return i + 1

@task()
def main(who: str = "a", n: int = 60) -> list:
    return [step(i, who) for i in range(n)] + [shared(i) for i in range(n)]
"""


def test_two_schedulers_write_one_record_at_once(pg_uri: str, tmp_path: Path) -> None:
    (tmp_path / ".redun").mkdir()
    (tmp_path / ".redun" / "redun.ini").write_text(f"[backend]\ndb_uri = {pg_uri}\n")
    (tmp_path / "flow.py").write_text(textwrap.dedent(WORKFLOW))
    # Both start on a new, empty database: one creates the schema, the other waits for it.
    runs = [_redun(tmp_path, "run", "flow.py", "main", "--who", who) for who in ("a", "b")]
    for proc in runs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1].startswith("[0, 1, 4")
    backend = RedunBackend(pg_uri)
    backend.load()
    with backend.connect() as conn:
        count = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        assert count("SELECT count(*) FROM execution") == 2
        assert count("SELECT count(*) FROM job") == 2 * (1 + 60 + 60)
        assert count("SELECT count(*) FROM job WHERE end_time IS NULL") == 0
        # Every job's call node is there; the calls both runs made are stored once.
        assert count("SELECT count(*) FROM job LEFT JOIN call_node USING (call_hash) "
                     "WHERE call_node.call_hash IS NULL") == 0  # fmt: skip
        assert count("SELECT count(DISTINCT call_hash) FROM job") == 2 + 60 + 60 + 60
    backend.close()
