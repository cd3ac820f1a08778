"""Higher-order redun: user special forms (scheduler_task), tasks as values, closures,
and recursion (the design document's "redun: a language within")."""

from __future__ import annotations

import pytest

from redun import task
from redun.builtins import catch, cond
from redun.expression import SchedulerExpression
from redun.functools import delay, force, map_
from redun.promise import Promise
from redun.task import PartialTask, Task, scheduler_task

redun_namespace = "tests.lang_higher_order"

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
def add(a, b):
    return a + b


@task
def fail(message):
    raise ValueError(message)


# scheduler_task: user-defined special forms ----------------------------------------------


@scheduler_task()
def either(scheduler, parent_job, sexpr, *exprs):
    """A short-circuit ``or``: the first truthy value; later expressions never run."""

    def test(index: int) -> Promise:
        def choose(value):
            if value or index + 1 == len(exprs):
                return value
            return test(index + 1)

        return scheduler.evaluate(exprs[index], parent_job).then(choose)

    return test(0)


@scheduler_task(name="unless_", namespace="tests.forms")
def unless(scheduler, parent_job, sexpr, pred, expr):
    """Returns an expression (not a promise): the scheduler evaluates it."""
    return cond(pred, None, expr)


@scheduler_task()
def quote(scheduler, parent_job, sexpr, expr):
    """A concrete value: the expression it was given, unevaluated (as its call repr)."""
    return repr(sexpr.args[0])


@scheduler_task()
def broken_form(scheduler, parent_job, sexpr, x):
    raise RuntimeError(f"broken_form cannot handle {x!r}")


@task
def message_of(error):
    return str(error)


def test_scheduler_task_defines_a_special_form_that_short_circuits(scheduler):
    assert either.is_scheduler_task and isinstance(either(1), SchedulerExpression)
    assert scheduler.run(either(record(0), record(""), record("yes"), fail("never"))) == "yes"
    assert CALLS == [0, "", "yes"]
    assert scheduler.run(either(record(None), record(0))) == 0


def test_scheduler_task_may_return_an_expression_or_a_plain_value(scheduler):
    assert unless.fullname == "tests.forms.unless_"
    assert scheduler.run(unless(record(False), record("ran"))) == "ran"
    assert scheduler.run(unless(record(True), fail("skipped"))) is None
    assert (
        scheduler.run(quote(fail("not evaluated")))
        == "tests.lang_higher_order.fail('not evaluated')"
    )


def test_bare_scheduler_task_decorator(scheduler):
    @scheduler_task
    def first_of(scheduler_, parent_job, sexpr, *exprs):
        return exprs[0]

    assert isinstance(first_of, Task) and first_of.is_scheduler_task
    assert first_of.name == "first_of"
    assert scheduler.run(first_of(record("a"), fail("not evaluated"))) == "a"


def test_scheduler_task_used_inside_tasks_and_errors_propagate(scheduler):
    @task
    def main(x):
        return [either(record(x), "default"), broken_form(x)]

    with pytest.raises(RuntimeError, match="broken_form cannot handle 3"):
        scheduler.run(main(3))
    assert scheduler.run(catch(broken_form(4), RuntimeError, message_of)) == (
        "broken_form cannot handle 4"
    )


# Tasks as first-class values ---------------------------------------------------------------


@task
def double(x):
    CALLS.append(("double", x))
    return 2 * x


@task
def square(x):
    CALLS.append(("square", x))
    return x * x


@task
def pick(name):
    return {"double": double, "square": square}[name]


@task
def apply_twice(func, x):
    return func(func(x))


@task
def make_adder(n):
    return add.partial(b=n)


def test_tasks_are_passed_to_and_returned_from_tasks(scheduler):
    assert scheduler.run(apply_twice(double, 3)) == 12
    assert scheduler.run(apply_twice(pick("square"), 3)) == 81
    chosen = scheduler.run(pick("double"))
    assert isinstance(chosen, Task) and chosen.fullname == double.fullname
    assert scheduler.run(map_(pick("square"), [1, 2, 3])) == [1, 4, 9]


def test_task_values_survive_the_record_and_are_reused_next_run(make_scheduler):
    expr = [apply_twice(pick("square"), 2), map_(make_adder(10), [1, 2])]
    assert make_scheduler().run(expr) == [16, [11, 12]]
    CALLS.clear()
    second = make_scheduler()  # a new run: the cached Task and PartialTask come from the record
    assert second.run([apply_twice(pick("square"), 2), map_(make_adder(10), [1, 2])]) == [
        16,
        [11, 12],
    ]
    assert CALLS == []
    assert second.reporter.counts[pick.fullname]["CACHED"] == 1
    assert second.reporter.counts[make_adder.fullname]["CACHED"] == 1


# PartialTask closures --------------------------------------------------------------------


def test_partial_tasks_are_closures_over_their_arguments(scheduler):
    add10 = add.partial(b=10)
    assert isinstance(add10, PartialTask)
    assert scheduler.run(add10(1)) == 11
    assert scheduler.run(add.partial("a").partial("b")()) == "ab"
    adders = scheduler.run([make_adder(1), make_adder(2)])
    assert scheduler.run([adders[0](5), adders[1](5)]) == [6, 7]


def test_partial_task_closes_over_lazy_arguments_without_evaluating_them(scheduler):
    closure = add.partial(record("captured "))
    assert CALLS == []
    assert scheduler.run(map_(closure, ["a", "b"])) == ["captured a", "captured b"]
    assert CALLS == ["captured "]  # evaluated once, when first called


def test_partial_task_hash_follows_its_task_and_arguments():
    assert add.partial(b=1).get_hash() == add.partial(b=1).get_hash()
    assert add.partial(b=1).get_hash() != add.partial(b=2).get_hash()
    assert add.partial(1).get_hash() != double.partial(1).get_hash()


def test_delay_and_force_are_built_from_partial_tasks(scheduler):
    delayed = delay(double(21))
    assert isinstance(delayed, PartialTask)
    assert CALLS == []
    assert scheduler.run(force(delayed)) == 42


# Recursion -------------------------------------------------------------------------------


@task
def fib(n):
    CALLS.append(("fib", n))
    if n <= 1:
        return n
    return add(fib(n - 1), fib(n - 2))


@task
def lazy_fib(n):
    CALLS.append(("lazy_fib", n))
    # Both branches are built, but only the one taken is evaluated: without that, this
    # would recurse forever below zero.
    return cond(less_than_two(n), n, add(lazy_fib(n - 1), lazy_fib(n - 2)))


@task
def less_than_two(n):
    return n < 2


def test_fib_20_runs_each_repeated_call_once(make_scheduler):
    scheduler = make_scheduler()
    assert scheduler.run(fib(20)) == 6765
    runs = [n for name, n in CALLS if name == "fib"]
    assert sorted(runs) == list(range(21))  # 21 distinct calls out of 21,891 in the tree
    assert scheduler.reporter.counts[fib.fullname]["DONE"] == 21

    CALLS.clear()
    again = make_scheduler()
    assert again.run(fib(20)) == 6765
    assert CALLS == []  # every call comes from the record


def test_recursive_workflow_with_cond_evaluates_only_the_branch_taken(scheduler):
    assert scheduler.run(lazy_fib(20)) == 6765
    runs = [n for name, n in CALLS if name == "lazy_fib"]
    assert sorted(runs) == list(range(21))


def test_deep_recursion_through_special_forms_keeps_the_stack_flat(scheduler):
    @task
    def count_down(n):
        return cond(n < 2, "done", catch(count_down(n - 1), KeyError, record))

    # Deeper than Python's default recursion limit.
    assert scheduler.run(count_down(1100)) == "done"
