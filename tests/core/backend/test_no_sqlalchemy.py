"""Opening, writing and reading a SQLite record never imports SQLAlchemy or alembic."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import datetime as dt
    import sys
    import uuid

    from redun import task
    from redun.backends.base import (
        ArgumentRecord, CallRecord, ExecutionRecord, JobEnd, JobStart, ValueRecord,
    )
    from redun.backends.db import RedunBackend
    from redun.values import get_value_hash

    @task(namespace="nosa")
    def add(a, b):
        return a + b

    def value(v):
        return ValueRecord(get_value_hash(v), v)

    backend = RedunBackend(sys.argv[1])
    backend.load()
    exec_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc)
    backend.record_task(add)
    backend.record_job_start(JobStart(job_id, exec_id, None, add.hash, now))
    backend.record_execution(ExecutionRecord(exec_id, "[]", job_id, now, {"user": "me"}))
    call = CallRecord(
        "c" * 40, add.fullname, add.hash, "a" * 40, value(3),
        [ArgumentRecord("g" * 40, value(1), position=0)], [], {add.hash}, now,
    )
    backend.record_call(call)
    backend.record_evaluation("e" * 40, add.hash, "a" * 40, value(3))
    backend.record_job_end(JobEnd(job_id, now, call.call_hash, False))
    backend.flush()
    assert backend.find_cached_call(add.hash, "a" * 40).value == 3
    assert backend.get_evaluations(["e" * 40]) == {"e" * 40: (get_value_hash(3), 3, None)}
    backend.close()
    print("heavy:", sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules))
    """
)


def run_script(db_uri: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_uri], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()[-1]


@pytest.mark.parametrize("relative", [False, True])
def test_new_and_existing_files_need_no_sqlalchemy(tmp_path: Path, relative: bool) -> None:
    path = tmp_path / "redun.db"
    db_uri = "sqlite:///redun.db" if relative else f"sqlite:///{path}"
    assert run_script(db_uri, tmp_path) == "heavy: []"  # a new file: the static schema script
    assert path.stat().st_size > 0
    assert run_script(db_uri, tmp_path) == "heavy: []"  # the existing file at the current revision


def test_in_memory_record_needs_no_sqlalchemy(tmp_path: Path) -> None:
    assert run_script("sqlite://", tmp_path) == "heavy: []"


def test_reference_database_needs_no_sqlalchemy(reference_db: Path) -> None:
    assert run_script(f"sqlite:///{reference_db}", reference_db.parent) == "heavy: []"
