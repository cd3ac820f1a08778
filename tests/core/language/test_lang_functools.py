"""Functional helpers (redun.functools): map_, seq, delay/force, compose, ... (SPEC §1)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from redun import task
from redun.expression import SchedulerExpression, TaskExpression, ValueExpression
from redun.functools import (
    apply_func,
    compose,
    const,
    delay,
    eval_,
    flat_map,
    flatten,
    force,
    identity,
    map_,
    seq,
    starmap,
    zip_,
)
from redun.task import PartialTask

redun_namespace = "tests.lang_functools"

CALLS: list = []


@pytest.fixture(autouse=True)
def _forget_calls():
    CALLS.clear()
    yield
    CALLS.clear()


@task
def record(x):
    CALLS.append(x)
    return x


@task
def add(a, b=0):
    return a + b


@task
def double(x):
    return 2 * x


@task
def pair(x):
    return [x, x]


@task
def upto(n):
    return list(range(n))


@task
def fail(message):
    raise ValueError(message)


# map_ / starmap / flat_map -------------------------------------------------------------


def test_map_applies_a_task_to_every_value(scheduler):
    expr = map_(double, [1, 2, 3])
    assert isinstance(expr, SchedulerExpression) and map_.fullname == "redun.map_"
    assert scheduler.run(expr) == [2, 4, 6]


def test_map_takes_lazy_values_and_partial_tasks(scheduler):
    assert scheduler.run(map_(add.partial(b=10), upto(3))) == [10, 11, 12]
    assert scheduler.run(map_(add, [1, record(2)])) == [1, 2]


def test_map_runs_its_calls_in_parallel(scheduler):
    barrier = threading.Barrier(3, timeout=10)

    @task
    def meet(i):
        barrier.wait()  # only returns once all three calls run at the same time
        return i

    assert scheduler.run(map_(meet, [0, 1, 2])) == [0, 1, 2]


def test_map_with_bad_arguments_names_the_fix(scheduler):
    with pytest.raises(TypeError, match=r"map_\(\): 5 is not a task"):
        scheduler.run(map_(5, [1]))
    with pytest.raises(TypeError, match=r"map_\(\): expected a list of values, got int 3"):
        scheduler.run(map_(double, 3))


def test_starmap_calls_the_task_with_each_keyword_dict(scheduler):
    assert scheduler.run(starmap(add, [{"a": 1, "b": 2}, {"a": 3}])) == [3, 3]
    lazy = record([{"a": "x", "b": "y"}])
    assert scheduler.run(starmap(add, lazy)) == ["xy"]
    assert scheduler.run(starmap(add)) == []


def test_flat_map_concatenates_what_the_task_returns(scheduler):
    assert flat_map.fullname == "redun.flat_map"
    assert scheduler.run(flat_map(pair, upto(3))) == [0, 0, 1, 1, 2, 2]


# flatten / zip_ --------------------------------------------------------------------------


def test_flatten_and_zip_are_tasks_on_lazy_values(scheduler):
    assert scheduler.run(flatten([[1, 2], record([3]), []])) == [1, 2, 3]
    assert scheduler.run(zip_([1, 2], record(["a", "b"]), (True, False))) == [
        (1, "a", True),
        (2, "b", False),
    ]


def test_flatten_of_something_that_is_not_a_list_of_lists_names_it(scheduler):
    with pytest.raises(TypeError, match=r"flatten\(\): expected a list of values, got int 7"):
        scheduler.run(flatten([[1], 7]))


# seq -------------------------------------------------------------------------------------


def test_seq_evaluates_one_item_at_a_time_in_order(scheduler, db_path):
    assert seq.fullname == "redun.seq" and seq.is_scheduler_task
    assert scheduler.run(seq([record(i) for i in range(30)])) == list(range(30))
    assert CALLS == list(range(30))
    with sqlite3.connect(db_path) as conn:
        times = conn.execute(
            "select start_time, end_time from job where task_hash = ? order by start_time",
            (record.hash,),
        ).fetchall()
    assert len(times) == 30
    # Each job was created only after the one before it had finished.
    assert all(later[0] >= earlier[1] for earlier, later in zip(times, times[1:]))


def test_seq_keeps_concrete_items_and_nested_values(scheduler):
    assert scheduler.run(seq([1, record(2), [record(3), "x"], {"k": record(4)}])) == [
        1,
        2,
        [3, "x"],
        {"k": 4},
    ]
    assert scheduler.run(seq([])) == []


def test_seq_stops_at_the_first_error(scheduler):
    with pytest.raises(ValueError, match="stop here"):
        scheduler.run(seq([record(1), fail("stop here"), record(3)]))
    assert CALLS == [1]


def test_seq_over_ten_thousand_items_keeps_the_stack_flat(scheduler):
    items = [ValueExpression(i) for i in range(10_000)]
    assert scheduler.run(seq(items)) == list(range(10_000))


def test_seq_of_a_lazy_list(scheduler):
    assert scheduler.run(seq(upto(4))) == [0, 1, 2, 3]


def test_seq_of_something_that_is_not_a_list_names_it(scheduler):
    with pytest.raises(TypeError, match=r"seq\(\): expected a list of values, got str"):
        scheduler.run(seq("abc"))


# delay / force ---------------------------------------------------------------------------


def test_delay_waits_until_force(scheduler):
    delayed = delay(record("late"))
    assert isinstance(delayed, PartialTask) and delayed.fullname == "redun.identity"

    @task
    def keep(value):
        return value

    kept = scheduler.run(keep(delayed))  # passed around, still not evaluated
    assert CALLS == [] and isinstance(kept, PartialTask)
    assert scheduler.run(force(kept)) == "late"
    assert CALLS == ["late"]
    assert scheduler.run(force(keep(delay(record("lazy"))))) == "lazy"  # forcing a lazy value


def test_force_over_a_list_of_delayed_values(scheduler):
    delayed = [delay(record(i)) for i in range(3)]
    assert scheduler.run(map_(force, delayed)) == [0, 1, 2]


# const / identity / apply_func / eval_ ---------------------------------------------------


def test_const_returns_the_first_argument_after_evaluating_the_second(scheduler):
    assert scheduler.run(const(record("kept"), record("side effect"))) == "kept"
    assert sorted(CALLS) == ["kept", "side effect"]


def test_identity_returns_its_argument(scheduler):
    assert isinstance(identity(1), TaskExpression)
    assert scheduler.run(identity(record({"a": [1]}))) == {"a": [1]}


def test_apply_func_calls_a_plain_function_on_lazy_arguments(scheduler):
    assert scheduler.run(apply_func(len, upto(5))) == 5
    assert scheduler.run(apply_func(sorted, record([3, 1, 2]), reverse=True)) == [3, 2, 1]


def test_eval_evaluates_code_with_lazy_variables(scheduler):
    names = eval_(
        "[name.upper() for name in names if name != skip]", names=record(["a", "b"]), skip="b"
    )
    assert scheduler.run(names) == ["A"]
    assert scheduler.run(eval_("x * y", 3, record(4), pos_args=["x", "y"])) == 12


def test_eval_with_unnamed_positional_arguments_names_the_fix(scheduler):
    with pytest.raises(TypeError, match=r"got 1 positional argument\(s\) but pos_args names 0"):
        scheduler.run(eval_("x", 1))


# compose ---------------------------------------------------------------------------------


def test_compose_applies_the_last_task_first(scheduler):
    composed = compose(double, add.partial(b=1))  # double(add(x, b=1))
    assert isinstance(composed, PartialTask) and composed.fullname == "redun.compose_apply"
    assert scheduler.run(composed(4)) == 10
    assert scheduler.run(compose(add.partial(b="!"), identity, record)("hi")) == "hi!"
    assert scheduler.run(map_(compose(double, double), [1, 2])) == [4, 8]


def test_compose_with_nothing_or_a_non_task_names_the_fix():
    with pytest.raises(TypeError, match="give at least one task"):
        compose()
    with pytest.raises(TypeError, match=r"compose\(\): 3 is not a task"):
        compose(double, 3)
