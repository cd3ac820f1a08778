"""Fixtures for the call-graph record: backends on real SQLite files and record builders."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from redun import task
from redun.backends.base import (
    ArgumentRecord,
    CallRecord,
    ExecutionRecord,
    JobEnd,
    JobStart,
    ValueRecord,
)
from redun.backends.db import RedunBackend
from redun.hashing import hash_arguments, hash_call_node, hash_struct
from redun.values import get_value_hash

DATA = Path(__file__).resolve().parents[2] / "data"
REFERENCE_DB_GZ = DATA / "redun_0_44_1.db.gz"
REFERENCE_SCHEMA = DATA / "redun_0_44_1_schema.sql"


@task(namespace="backend_test")
def add(a: int, b: int) -> int:
    return a + b


@task(namespace="backend_test")
def main(n: int) -> list:
    return [add(i, n) for i in range(n)]


def value_record(value: Any) -> ValueRecord:
    return ValueRecord(get_value_hash(value), value)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def call_record(
    task_: Any,
    args: tuple,
    result: Any,
    children: list[str] = (),  # type: ignore[assignment]
    timestamp: dt.datetime | None = None,
    kwargs: dict | None = None,
) -> CallRecord:
    """A CallRecord for ``task_(*args, **kwargs) -> result`` with hashes made as redun does."""
    kwargs = kwargs or {}
    args_hash = hash_arguments(
        [get_value_hash(a) for a in args], {k: get_value_hash(v) for k, v in kwargs.items()}
    )
    result_record = value_record(result)
    call_hash = hash_call_node(task_.hash, args_hash, result_record.value_hash, list(children))
    arguments = [
        ArgumentRecord(hash_struct(["arg", call_hash, i]), value_record(a), position=i)
        for i, a in enumerate(args)
    ] + [
        ArgumentRecord(hash_struct(["arg", call_hash, k]), value_record(v), key=k)
        for k, v in kwargs.items()
    ]
    return CallRecord(
        call_hash=call_hash,
        task_name=task_.fullname,
        task_hash=task_.hash,
        args_hash=args_hash,
        result=result_record,
        arguments=arguments,
        child_call_hashes=list(children),
        subtree_task_hashes={task_.hash},
        timestamp=timestamp or now(),
    )


def record_execution(backend: RedunBackend, n: int = 2, cached: bool = False) -> SimpleNamespace:
    """Record a whole execution of ``main(n)`` (children ``add(i, n)``) and return its ids."""
    exec_id, root_id = str(uuid.uuid4()), str(uuid.uuid4())
    backend.record_task(main)
    backend.record_task(add)
    start = now()
    backend.record_execution(
        ExecutionRecord(
            exec_id,
            '["redun", "run", "wf.py", "main"]',
            root_id,
            start,
            {"user": "me"},
            root_job=JobStart(root_id, exec_id, None, main.hash, start),
        )
    )
    children, child_jobs = [], []
    for i in range(n):
        job_id = str(uuid.uuid4())
        child_jobs.append(job_id)
        backend.record_job_start(JobStart(job_id, exec_id, root_id, add.hash, now()))
        call = call_record(add, (i, n), i + n)
        backend.record_call(call)
        backend.record_job_end(JobEnd(job_id, now(), call.call_hash, cached))
        children.append(call.call_hash)
    root_call = call_record(main, (), [i + n for i in range(n)], children, kwargs={"n": n})
    backend.record_call(root_call)
    backend.record_job_end(JobEnd(root_id, now(), root_call.call_hash, cached))
    backend.record_execution(
        ExecutionRecord(
            exec_id, '["redun", "run", "wf.py", "main"]', root_id, now(), {"user": "me"}
        )
    )
    return SimpleNamespace(
        exec_id=exec_id, root_id=root_id, child_jobs=child_jobs, root_call=root_call
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "redun.db"


@pytest.fixture
def backend(db_path: Path) -> Iterator[RedunBackend]:
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    yield backend
    backend.close()


@pytest.fixture
def reference_db(tmp_path: Path) -> Path:
    """A copy of a database written by redun 0.44.1 (3 executions: done, cached, failed).

    Made with ``redun run --execution-id ID wf.py ...`` on this workflow (namespace demo)::

        add(a, b) -> a + b;  boom(x) raises ValueError;  write(n) -> File("out.txt")
        main(n=2) -> [add(i, n) for i in range(n)] + [{"file": write(n)}]
        failing(n=1) -> [add(n, 1), boom(n)]

    11111111-...: main --n 2 (all DONE); 22222222-...: main --n 2 again (all CACHED);
    33333333-...: failing (root and boom FAILED, add DONE).
    """
    path = tmp_path / "reference.db"
    with gzip.open(REFERENCE_DB_GZ, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


@pytest.fixture
def reference_schema_sql() -> str:
    """The schema dump (sqlite_master) of a database created by redun 0.44.1."""
    return REFERENCE_SCHEMA.read_text()


@pytest.fixture
def rec() -> SimpleNamespace:
    """Builders for records: ``rec.call_record``, ``rec.record_execution``, tasks ``rec.add``..."""
    return SimpleNamespace(
        add=add,
        main=main,
        now=now,
        value_record=value_record,
        call_record=call_record,
        record_execution=record_execution,
    )
