"""Failures, and what the record holds after a run."""

from __future__ import annotations

import pickle
import threading

import pytest

from redun import task
from redun.values import InvalidValueError


def test_task_error_carries_the_users_traceback_and_no_job_stays_running(
    scheduler, write_module, query
):
    module = write_module(
        "failing_workflow",
        """
        import threading
        from redun import task

        STARTED = threading.Event()
        FINISHED = []

        @task()
        def slow_ok():
            STARTED.wait(10)
            FINISHED.append("slow_ok")
            return "ok"

        @task()
        def boom():
            STARTED.set()
            raise ValueError("bad input 42")

        @task()
        def main():
            return [slow_ok(), boom()]
        """,
    )
    with pytest.raises(ValueError, match="bad input 42") as info:
        scheduler.run(module.main())
    frames = [entry.name for entry in info.traceback]
    assert "boom" in frames
    assert module.FINISHED == ["slow_ok"]  # the independent job finished cleanly

    assert query("select count(*) from job where end_time is null") == [(0,)]
    statuses = dict(
        query(
            "select task.name, value.type from job join task on job.task_hash = task.hash "
            "join call_node on job.call_hash = call_node.call_hash "
            "join value on call_node.value_hash = value.value_hash"
        )
    )
    assert statuses["boom"] == "redun.ErrorValue"
    assert statuses["main"] == "redun.ErrorValue"
    assert statuses["slow_ok"] == "builtins.str"


def test_recorded_error_keeps_its_type_and_names_its_task(scheduler, write_module, query):
    module = write_module(
        "typed_error_workflow",
        """
        from redun import task

        @task()
        def boom(x):
            raise KeyError(f"missing {x}")

        @task()
        def main():
            return boom(7)
        """,
    )
    with pytest.raises(KeyError) as info:
        scheduler.run(module.main())
    assert info.value.__redun_task__ == "boom"  # the task that raised it, not main
    rows = query("select value.value from value where value.type = 'redun.ErrorValue'")
    errors = {type(pickle.loads(data).error) for (data,) in rows}
    assert errors == {KeyError}  # the exception itself, not a stand-in RuntimeError


def test_errors_are_not_reused_across_executions(scheduler, write_module):
    module = write_module(
        "flaky_workflow",
        """
        from redun import task
        ATTEMPTS = []

        @task()
        def flaky():
            ATTEMPTS.append(1)
            if len(ATTEMPTS) == 1:
                raise RuntimeError("first time fails")
            return "second time works"
        """,
    )
    with pytest.raises(RuntimeError):
        scheduler.run(module.flaky())
    assert scheduler.run(module.flaky()) == "second time works"


def test_unpicklable_result_is_a_clear_error(scheduler, query):
    @task(namespace="tests.errors")
    def make_lock():
        return threading.Lock()

    with pytest.raises(InvalidValueError, match=r"task tests.errors.make_lock returned .*pickle"):
        scheduler.run(make_lock())
    assert query("select count(*) from job where end_time is null") == [(0,)]


def test_record_holds_the_whole_call_graph(scheduler, write_module, query):
    module = write_module(
        "graph_workflow",
        """
        from redun import task
        redun_namespace = "tests.graph"

        @task()
        def get_planet():
            return "World"

        @task()
        def greeter(greet, thing):
            return f"{greet}, {thing}!"

        @task()
        def main(greet="Hello"):
            return greeter(greet, get_planet())
        """,
    )
    scheduler.run(module.main(), exec_argv=["redun", "run", "graph_workflow.py", "main"])
    assert query("select count(*) from execution") == [(1,)]
    assert query("select args from execution") == [
        ('["redun", "run", "graph_workflow.py", "main"]',)
    ]
    assert sorted(query("select name, namespace from task")) == [
        ("get_planet", "tests.graph"),
        ("greeter", "tests.graph"),
        ("main", "tests.graph"),
    ]
    assert query("select count(*) from job") == [(3,)]
    assert query("select count(*) from call_node") == [(3,)]
    assert query("select count(*) from call_edge") == [(2,)]
    assert query("select count(*) from evaluation") == [(3,)]
    # main's evaluation holds the expression it returned; its call node the final value.
    main_value_type = query(
        "select value.type from evaluation join task on evaluation.task_hash = task.hash "
        "join value on value.value_hash = evaluation.value_hash where task.name = 'main'"
    )
    assert main_value_type == [("redun.expression.TaskExpression",)]
    # greeter's 'thing' argument came from get_planet's result: recorded as dataflow.
    assert query("select count(*) from argument_result") == [(1,)]
    # The root job has no parent; the others hang under it.
    assert query("select count(*) from job where parent_id is null") == [(1,)]

    scheduler.run(module.main())
    assert query("select count(*) from job where cached = 1") == [(3,)]


def test_error_values_recorded_by_redun_0_44_can_be_read(tmp_path):
    import gzip
    import sqlite3
    from pathlib import Path

    from redun.scheduler import ErrorValue
    from redun.values import deserialize_value

    data = Path(__file__).resolve().parents[2] / "data" / "redun_0_44_1.db.gz"
    db = tmp_path / "old.db"
    db.write_bytes(gzip.open(data).read())
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select type, value from value where type = 'redun.ErrorValue'"
        ).fetchall()
    assert rows
    error_value = deserialize_value(*rows[0])
    assert isinstance(error_value, ErrorValue)
    assert isinstance(error_value.error, ValueError)
    assert "raise ValueError" in error_value.traceback
