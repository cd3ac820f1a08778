"""subrun: a sub-workflow evaluated by a child scheduler inside one job (a process here)."""

from __future__ import annotations

import os

import pytest

SUB_WORKFLOW = """
import os
from redun import subrun, task

@task()
def square(x: int):
    return [x * x, os.getpid()]

@task()
def fail(x: int):
    raise ArithmeticError(f"cannot use {x}")

@task()
def sub_main(n: int):
    return [square(i) for i in range(n)]

@task()
def main(n: int = 3, new_execution: bool = False):
    return subrun(sub_main(n), executor="proc", new_execution=new_execution)

@task()
def failing():
    return subrun(fail(7), executor="proc")
"""

PROCESS_EXECUTOR = {"executors": {"proc": {"type": "local", "mode": "process", "max_workers": "1"}}}


@pytest.fixture
def sub_module(write_module):
    return write_module("subrun_wf", SUB_WORKFLOW)


def test_subrun_runs_the_sub_workflow_in_another_process_and_records_it(
    make_scheduler, sub_module, query
):
    result = make_scheduler(**PROCESS_EXECUTOR).run(sub_module.main(3))
    assert [value for value, _ in result] == [0, 1, 4]
    assert {pid for _, pid in result} != {os.getpid()}  # computed by the child, elsewhere

    # One execution; the child's jobs hang below the job that ran the child scheduler.
    assert query("select count(*) from execution") == [(1,)]
    rows = query(
        "select job.id, job.parent_id, task.name from job join task on task.hash = job.task_hash"
    )
    names = {job_id: name for job_id, _, name in rows}
    parents = {name: names.get(parent_id) for _, parent_id, name in rows}
    assert parents["_subrun_root_task"] == "main"
    assert parents["sub_main"] == "_subrun_root_task"
    assert parents["square"] == "sub_main"
    assert query("select count(*) from job where end_time is null") == [(0,)]


def test_subrun_child_reuses_the_shared_cache(make_scheduler, sub_module, query):
    make_scheduler(**PROCESS_EXECUTOR).run(sub_module.main(2))
    again = make_scheduler(**PROCESS_EXECUTOR).run(sub_module.main(2))
    assert [value for value, _ in again] == [0, 1]
    cached = query(
        "select task.name, job.cached from job join task on task.hash = job.task_hash "
        "join execution on execution.id = job.execution_id "
        "order by job.start_time"
    )
    last_run = cached[len(cached) // 2 :]
    # The child scheduler ran again (its root has execution scope) and reused every square.
    assert ("square", 1) in last_run and ("square", 0) not in last_run


def test_subrun_new_execution_and_errors(make_scheduler, sub_module, query):
    make_scheduler(**PROCESS_EXECUTOR).run(sub_module.main(1, new_execution=True))
    assert query("select count(*) from execution") == [(2,)]

    with pytest.raises(ArithmeticError, match="cannot use 7"):
        make_scheduler(**PROCESS_EXECUTOR).run(sub_module.failing())
