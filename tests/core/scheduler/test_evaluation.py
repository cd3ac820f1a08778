"""Evaluating expressions: values, nesting, operators, parallelism, depth."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import namedtuple

import pytest

import redun
from redun import task
from redun.scheduler import Scheduler, core

Pair = namedtuple("Pair", ["left", "right"])


@dataclasses.dataclass(frozen=True)
class Box:
    content: object
    label: str = "box"


@task
def add(a, b=2):
    return a + b


@task
def identity_value(x):
    return x


@task(nout=2)
def two_values(x):
    return x, x * 10


@task
def make_dict():
    return {"k": 5, "obj": Pair(1, 2)}


def test_in_memory_scheduler_runs_hello_world():
    @task(namespace="tests.mem")
    def get_planet():
        return "World"

    @task(namespace="tests.mem")
    def greeter(greet, thing):
        return f"{greet}, {thing}!"

    @task(namespace="tests.mem")
    def main(greet="Hello"):
        return greeter(greet, get_planet())

    assert Scheduler().run(main()) == "Hello, World!"
    assert redun.run(main(greet="Hi")) == "Hi, World!"


def test_task_call_is_lazy_until_run(scheduler):
    calls = []

    @task(namespace="tests.lazy")
    def record(x):
        calls.append(x)
        return x

    expr = record(1)
    assert calls == []
    assert scheduler.run(expr) == 1
    assert calls == [1]


def test_nested_expression_arguments(scheduler):
    value = {
        "list": [add(1), add(2)],
        "tuple": (add(3),),
        "set": {add(4)},
        "pair": Pair(add(5), 0),
        "box": Box(add(6)),
    }
    assert scheduler.run(identity_value(value)) == {
        "list": [3, 4],
        "tuple": (5,),
        "set": {6},
        "pair": Pair(7, 0),
        "box": Box(8),
    }


def test_operators_attributes_items_and_calls(scheduler):
    assert scheduler.run(add(1) + 10) == 13
    assert scheduler.run(10 - add(1)) == 7
    assert scheduler.run(add(1) * add(2)) == 12
    assert scheduler.run(add(2) / 2) == 2
    assert scheduler.run(add(1) == 3) is True
    assert scheduler.run(add(1) < 2) is False
    assert scheduler.run(make_dict()["k"]) == 5
    assert scheduler.run(make_dict()["obj"].right) == 2
    assert scheduler.run(identity_value(str.upper)("abc")) == "ABC"


def test_nout_unpacking(scheduler):
    first, second = two_values(3)
    assert scheduler.run(add(first, second)) == 33


def test_task_may_return_expressions_and_values_holding_them(scheduler):
    @task(namespace="tests.ret")
    def fan(n):
        return [add(i) for i in range(n)]

    assert scheduler.run(fan(3)) == [2, 3, 4]


def test_independent_tasks_run_in_parallel(scheduler):
    barrier = threading.Barrier(2, timeout=10)

    @task(namespace="tests.parallel", cache=False)
    def meet(i):
        barrier.wait()  # raises BrokenBarrierError unless both run at once
        return i

    assert scheduler.run([meet(1), meet(2)]) == [1, 2]


def test_a_fan_out_starts_a_slice_at_a_time(make_scheduler, query, monkeypatch):
    monkeypatch.setattr(core, "CHECK_BATCH", 3)
    # Results in place, in order, however many slices the calls took.
    value = ([add(i, i) for i in range(10)], {"nested": (add(2), [add(11, 0)])})
    assert make_scheduler().run(value) == ([2 * i for i in range(10)], {"nested": (4, [11])})
    # Warm: the first slices' jobs end (from the cache) before the last slice's start.
    assert make_scheduler().run([add(i, i) for i in range(10)]) == [2 * i for i in range(10)]
    times = query(
        "SELECT job.start_time, job.end_time FROM job JOIN task ON task.hash = job.task_hash "
        "WHERE task.name = 'add' AND job.cached ORDER BY job.start_time"
    )
    assert len(times) == 10 and times[0][1] < times[-1][0]

    @task(namespace="tests.fanout")
    def fails(i):
        if i == 7:
            raise ValueError("seven")
        return i

    with pytest.raises(ValueError, match="seven"):
        make_scheduler().run([fails(i) for i in range(10)])


def test_cache_lookups_are_announced_before_their_check(make_scheduler, monkeypatch):
    monkeypatch.setattr(core, "CHECK_BATCH", 3)
    monkeypatch.setattr(core, "ANNOUNCE_AHEAD", 6)

    @task(namespace="tests.announce")
    def double(i):
        return 2 * i

    assert make_scheduler().run([double(i) for i in range(10)]) == list(range(0, 20, 2))
    scheduler = make_scheduler()
    scheduler.load()
    announced: list[str] = []
    checked: list[list[str]] = []
    prefetch, lookup = scheduler.backend.prefetch_evaluations, scheduler.backend.get_evaluations

    def spy_prefetch(eval_hashes):
        assert len(announced) - sum(map(len, checked)) <= 6  # never more than ANNOUNCE_AHEAD
        announced.extend(eval_hashes)
        return prefetch(eval_hashes)

    def spy_lookup(eval_hashes):
        assert set(eval_hashes) <= set(announced)  # each slice was announced beforehand
        checked.append(list(eval_hashes))
        return lookup(eval_hashes)

    monkeypatch.setattr(scheduler.backend, "prefetch_evaluations", spy_prefetch)
    monkeypatch.setattr(scheduler.backend, "get_evaluations", spy_lookup)
    assert scheduler.run([double(i) for i in range(10)]) == list(range(0, 20, 2))
    assert sorted(h for hashes in checked for h in hashes) == sorted(announced)
    assert len(checked) == 4  # slices of 3, 3, 3 and 1


def test_deep_chain_of_ten_thousand_nested_calls(scheduler):
    @task(namespace="tests.deep")
    def inc(x):
        return x + 1

    expr = 0
    for _ in range(10_000):
        expr = inc(expr)
    assert scheduler.run(expr) == 10_000


def test_deep_recursion_of_ten_thousand_levels(scheduler):
    @task(namespace="tests.deep")
    def countdown(n):
        return countdown(n - 1) if n > 0 else "liftoff"

    assert scheduler.run(countdown(10_000)) == "liftoff"


def test_process_mode_executor(make_scheduler, write_module):
    module = write_module(
        "proc_workflow",
        """
        import os
        from redun import task

        @task(executor="proc")
        def where():
            return os.getpid()

        @task()
        def main():
            return [where(), os.getpid()]
        """,
    )
    scheduler = make_scheduler(
        executors={"proc": {"type": "local", "mode": "process", "max_workers": 1}}
    )
    child_pid, parent_pid = scheduler.run(module.main())
    assert parent_pid == os.getpid()  # threads by default
    assert child_pid != os.getpid()


def test_unknown_executor_is_a_clear_error(scheduler):
    @task(namespace="tests.exec", executor="nowhere")
    def lost():
        return 1

    with pytest.raises(Exception, match=r"executor 'nowhere'.*\[executors.nowhere\]"):
        scheduler.run(lost())


def test_unknown_executor_type_in_config_is_a_clear_error(make_scheduler):
    from redun.scheduler import SchedulerError

    scheduler = make_scheduler(executors={"x": {"type": "no_such_type"}})
    with pytest.raises(SchedulerError, match="unknown type 'no_such_type'"):
        scheduler.run(add(1))


def test_bad_executor_mode_is_a_clear_error(make_scheduler):
    from redun.scheduler import SchedulerError

    scheduler = make_scheduler(executors={"x": {"type": "local", "mode": "gpu"}})
    with pytest.raises(SchedulerError, match="mode = thread or mode = process"):
        scheduler.run(add(1))


def test_scheduler_takes_a_loaded_config_with_a_relative_db_uri(tmp_path, monkeypatch):
    from redun.config import Config

    config_dir = tmp_path / ".redun"
    config_dir.mkdir()
    (config_dir / "redun.ini").write_text("[backend]\ndb_uri = sqlite:///records.db\n")
    monkeypatch.chdir(tmp_path.parent)
    scheduler = Scheduler(config=Config(config_dir=config_dir))
    assert scheduler.run(add(40)) == 42
    assert (config_dir / "records.db").exists()  # relative to the config dir, not the cwd
