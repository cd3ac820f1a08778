"""Read-side queries, on a database written by redun 0.44.1 and on our own records."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from redun.backends.base import ExecutionRecord, JobStart
from redun.backends.db import RedunBackend, queries

EXEC_DONE = "11111111-1111-4111-8111-111111111111"
EXEC_CACHED = "22222222-2222-4222-8222-222222222222"
EXEC_FAILED = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def reference(reference_db: Path):
    backend = RedunBackend(f"sqlite:///{reference_db}")
    backend.load()
    with backend.connect() as conn:
        yield conn
    backend.close()


def test_list_executions(reference) -> None:
    executions = queries.list_executions(reference)
    assert [e.id for e in executions] == [EXEC_FAILED, EXEC_CACHED, EXEC_DONE]
    assert [e.status for e in executions] == ["FAILED", "DONE", "DONE"]
    assert [e.root.task_name for e in executions] == ["demo.failing", "demo.main", "demo.main"]
    assert executions[0].tags == {"project": "demo", "redun.version": "0.44.1", "user": "root"}
    assert executions[2].args[1:] == [
        "run",
        "--execution-id",
        EXEC_DONE,
        "wf.py",
        "main",
        "--n",
        "2",
    ]
    assert queries.latest_execution_id(reference) == EXEC_FAILED
    assert [e.id for e in queries.list_executions(reference, limit=1)] == [EXEC_FAILED]


def test_job_trees_and_statuses(reference) -> None:
    failed = [(d, j.task_name, j.status) for d, j in queries.get_job_tree(reference, EXEC_FAILED)]
    assert failed == [
        (0, "demo.failing", "FAILED"),
        (1, "demo.add", "DONE"),
        (1, "demo.boom", "FAILED"),
    ]
    cached = queries.get_job_tree(reference, EXEC_CACHED)
    assert [job.status for _, job in cached] == ["CACHED"] * 4
    assert [depth for depth, _ in cached] == [0, 1, 1, 1]
    done = queries.get_job_tree(reference, EXEC_DONE)
    args = queries.get_call_args(reference, [job.call_hash for _, job in done])
    assert [queries.format_args(args[job.call_hash]) for _, job in done] == [
        "n=2", "0, 2", "1, 2", "2",
    ]  # fmt: skip


def test_find_records_by_prefix(reference) -> None:
    assert queries.find_records(reference, "3333") == ("execution", [EXEC_FAILED])
    assert queries.find_records(reference, "ef54dfda") == (
        "job", ["ef54dfda-f1c8-40e6-9fca-eff3678243ae"],
    )  # fmt: skip
    assert queries.find_records(reference, "e3aa083e")[0] == "call_node"
    assert queries.find_records(reference, "07c36ead")[0] == "task"
    assert queries.find_records(reference, "a8396c89")[0] == "value"
    assert queries.find_records(reference, "8")[0] == "job"  # two jobs: 853f3b9a, 88f06f7b
    assert len(queries.find_records(reference, "8")[1]) == 2
    assert queries.find_records(reference, "zz") == ("", [])
    assert queries.find_records(reference, "1%") == ("", [])


def test_call_node_and_job_ancestors(reference) -> None:
    job = queries.get_job(reference, "ef54dfda-f1c8-40e6-9fca-eff3678243ae")
    assert job is not None and job.status == "FAILED"
    chain = queries.get_job_ancestors(reference, job)
    assert [j.task_name for j in chain] == ["demo.failing", "demo.boom"]
    root_job = queries.get_job(reference, "853f3b9a-a73a-4e37-a89f-2d389f2c9289")
    node = queries.get_call_node(reference, root_job.call_hash)
    assert node is not None and not node.is_error
    assert [name for _, name in node.children] == ["demo.add", "demo.add", "demo.write"]
    assert node.preview.startswith("[2, 3, {'file': ")


def test_running_execution(backend: RedunBackend, rec: SimpleNamespace) -> None:
    exec_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    backend.record_task(rec.main)
    backend.record_job_start(JobStart(job_id, exec_id, None, rec.main.hash, rec.now()))
    backend.record_execution(ExecutionRecord(exec_id, '["redun", "run"]', job_id, rec.now()))
    done = rec.record_execution(backend, n=1)
    backend.flush()
    with backend.connect() as conn:
        executions = {e.id: e for e in queries.list_executions(conn)}
        assert executions[exec_id].status == "RUNNING"
        assert executions[done.exec_id].status == "DONE"
        assert executions[done.exec_id].tags == {"user": "me"}
        tree = queries.get_job_tree(conn, exec_id)
    assert [(job.task_name, job.status) for _, job in tree] == [("backend_test.main", "RUNNING")]


def test_deep_job_tree_is_not_recursive(backend: RedunBackend, rec: SimpleNamespace) -> None:
    exec_id = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(3000)]
    backend.record_task(rec.add)
    for parent, job_id in zip([None, *ids], ids):
        backend.record_job_start(JobStart(job_id, exec_id, parent, rec.add.hash, rec.now()))
    backend.record_execution(ExecutionRecord(exec_id, "[]", ids[0], rec.now()))
    backend.flush()
    with backend.connect() as conn:
        tree = queries.get_job_tree(conn, exec_id)
    assert [depth for depth, _ in tree] == list(range(3000))


def test_call_args_one_per_slot(backend: RedunBackend, rec: SimpleNamespace) -> None:
    call = rec.call_record(rec.add, (1, 2), 3)
    # Another writer hashed the same arguments differently (same call node, new arg rows).
    twin = rec.call_record(rec.add, (1, 2), 3)
    for arg in twin.arguments:
        arg.arg_hash = "f" + arg.arg_hash[1:]
    call.arguments += twin.arguments
    backend.record_task(rec.add)
    backend.record_call(call)
    backend.flush()
    with backend.connect() as conn:
        args = queries.get_call_args(conn, [call.call_hash])[call.call_hash]
    assert queries.format_args(args) == "1, 2"
