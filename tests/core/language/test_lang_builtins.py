"""Special forms: cond, catch, catch_all and throw (SPEC §1)."""

from __future__ import annotations

import sqlite3

import pytest

from redun import task
from redun.builtins import CondError, catch, catch_all, cond, throw
from redun.expression import SchedulerExpression

redun_namespace = "tests.lang_builtins"

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
def is_even(x):
    CALLS.append(("is_even", x))
    return x % 2 == 0


@task
def fail(message):
    CALLS.append(("fail", message))
    raise ValueError(message)


@task
def fail_key(message):
    raise KeyError(message)


@task
def recover(error):
    CALLS.append(("recover", error))
    return f"recovered from {type(error).__name__}: {error}"


@task
def recover_other(error):
    CALLS.append(("recover_other", error))
    return "other"


@task
def recover_fails(error):
    raise RuntimeError(f"recovery failed too ({error})")


@task
def summarize(results):
    return [f"error: {r}" if isinstance(r, Exception) else r for r in results]


# cond ----------------------------------------------------------------------------------


def test_cond_is_a_scheduler_task_named_as_redun_names_it():
    expr = cond(True, 1, 2)
    assert isinstance(expr, SchedulerExpression)
    assert cond.fullname == "redun.cond" and cond.is_scheduler_task


def test_cond_evaluates_only_the_branch_taken(scheduler):
    assert scheduler.run(cond(is_even(2), record("then"), record("else"))) == "then"
    assert CALLS == [("is_even", 2), "then"]

    CALLS.clear()
    assert scheduler.run(cond(is_even(3), record("then"), record("else"))) == "else"
    assert CALLS == [("is_even", 3), "else"]


def test_cond_untaken_branch_may_fail_without_failing_the_run(scheduler):
    assert scheduler.run(cond(is_even(4), "fine", fail("never evaluated"))) == "fine"
    assert ("fail", "never evaluated") not in CALLS


def test_cond_with_several_pairs_tests_predicates_in_order_and_stops_at_the_first_true(
    scheduler,
):
    expr = cond(
        is_even(1), record("one"),
        is_even(3), record("three"),
        is_even(4), record("four"),
        is_even(6), record("six"),
        record("else"),
    )  # fmt: skip
    assert scheduler.run(expr) == "four"
    assert CALLS == [("is_even", 1), ("is_even", 3), ("is_even", 4), "four"]


def test_cond_falls_through_to_else_and_takes_python_truthiness(scheduler):
    assert scheduler.run(cond(record([]), "a", record(0), "b", record("else"))) == "else"
    assert scheduler.run(cond("non-empty", "a", "b")) == "a"
    assert scheduler.run(cond(None, "a", record({"x": 1}), "b", "c")) == "b"


def test_cond_branches_may_be_nested_values_holding_expressions(scheduler):
    expr = cond(is_even(2), {"x": [record(1), record(2)]}, [fail("no")])
    assert scheduler.run(expr) == {"x": [1, 2]}


def test_cond_without_a_true_predicate_or_else_names_the_fix(scheduler):
    with pytest.raises(CondError, match="no else branch; add a final else value"):
        scheduler.run(cond(is_even(1), "a", is_even(3), "b"))


def test_cond_error_in_a_predicate_propagates_and_skips_both_branches(scheduler):
    with pytest.raises(ValueError, match="bad predicate"):
        scheduler.run(cond(fail("bad predicate"), record("then"), record("else")))
    assert "then" not in CALLS and "else" not in CALLS


def test_cond_returned_from_a_task_is_the_design_documents_if_expression(scheduler):
    @task
    def classify(x):
        # redun-the-language's if-expression: an if over a lazy value.
        return cond(is_even(x), record(f"{x} is even"), record(f"{x} is odd"))

    assert scheduler.run([classify(10), classify(7)]) == ["10 is even", "7 is odd"]
    assert sorted(c for c in CALLS if isinstance(c, str)) == ["10 is even", "7 is odd"]


# catch ---------------------------------------------------------------------------------


def test_catch_is_the_design_documents_try_except(scheduler):
    @task
    def safe(message):
        # try: fail(message) except ValueError as error: recover(error)
        return catch(fail(message), ValueError, recover)

    assert scheduler.run(safe("bad row")) == "recovered from ValueError: bad row"
    (received,) = [c[1] for c in CALLS if c[0] == "recover"]
    assert type(received) is ValueError and received.args == ("bad row",)
    # The recover task gets the user's error, not the scheduler's bookkeeping on it.
    assert not hasattr(received, "__redun_task__")


def test_catch_without_an_error_returns_the_value_and_never_calls_recover(scheduler):
    assert scheduler.run(catch(record("ok"), ValueError, recover)) == "ok"
    assert CALLS == ["ok"]


def test_catch_picks_the_first_pair_whose_class_matches(scheduler):
    expr = catch(fail("x"), KeyError, recover_other, ValueError, recover)
    assert scheduler.run(expr) == "recovered from ValueError: x"
    expr = catch(fail("y"), Exception, recover_other, ValueError, recover)
    assert scheduler.run(expr) == "other"
    expr = catch(fail_key("z"), (TypeError, KeyError), recover_other)
    assert scheduler.run(expr) == "other"


def test_catch_lets_unmatched_errors_through_unchanged(scheduler):
    with pytest.raises(ValueError, match="not a key error"):
        scheduler.run(catch(fail("not a key error"), KeyError, recover))
    assert not [c for c in CALLS if c[0] == "recover"]


def test_errors_in_the_recover_task_propagate(scheduler):
    with pytest.raises(RuntimeError, match=r"recovery failed too \(first\)"):
        scheduler.run(catch(fail("first"), ValueError, recover_fails))


def test_catch_recovers_errors_raised_deep_below_the_expression(scheduler):
    @task
    def inner(x):
        return fail(f"deep {x}")

    @task
    def outer(x):
        return [record(x), inner(x)]

    assert (
        scheduler.run(catch(outer(1), ValueError, recover)) == "recovered from ValueError: deep 1"
    )


def test_nested_catches_the_inner_one_first(scheduler):
    inner = catch(fail("a"), ValueError, recover_other)
    assert scheduler.run(catch(inner, ValueError, recover)) == "other"
    inner = catch(fail("b"), KeyError, recover_other)
    assert scheduler.run(catch(inner, ValueError, recover)) == "recovered from ValueError: b"


def test_catch_recover_may_be_a_partial_task(scheduler):
    @task
    def recover_with(label, error):
        return f"{label}: {error}"

    expr = catch(fail("oops"), ValueError, recover_with.partial("fallback"))
    assert scheduler.run(expr) == "fallback: oops"


class TwoPartError(Exception):
    """An error that cannot be rebuilt from its args (so it cannot simply be copied)."""

    def __init__(self, part1, part2):
        super().__init__(f"{part1}/{part2}")


@task
def fail_two_part():
    raise TwoPartError("a", "b")


def test_catch_hands_over_errors_that_cannot_be_copied_without_engine_state(scheduler):
    assert scheduler.run(catch(fail_two_part(), TwoPartError, recover)) == (
        "recovered from TwoPartError: a/b"
    )
    (received,) = [c[1] for c in CALLS if c[0] == "recover"]
    assert type(received) is TwoPartError and not hasattr(received, "__redun_task__")


def test_catch_with_a_non_exception_class_is_a_clear_error(scheduler):
    with pytest.raises(TypeError, match=r"catch\(\): 3 is not an exception class"):
        scheduler.run(catch(record("x"), 3, recover))
    with pytest.raises(TypeError, match=r"catch\(\): .* is not an exception class"):
        scheduler.run(catch(record("x"), str, recover))
    assert CALLS == []  # nothing is evaluated before the handlers are checked


def test_catch_with_odd_arguments_or_a_non_task_recover_is_a_clear_error(scheduler):
    with pytest.raises(TypeError, match=r"expected pairs of \(error class, recover task\)"):
        scheduler.run(catch(record("x"), ValueError))
    with pytest.raises(TypeError, match="recover value 'oops' is not a task"):
        scheduler.run(catch(record("x"), ValueError, "oops"))


def test_a_recovered_failure_is_recorded_and_the_recovery_is_cached_next_run(
    make_scheduler, db_path
):
    @task
    def main(x):
        return catch(fail(x), ValueError, recover)

    first = make_scheduler()
    assert first.run(main("r")) == "recovered from ValueError: r"
    second = make_scheduler()
    assert second.run(main("r")) == "recovered from ValueError: r"
    counts = second.reporter.counts
    assert counts[main.fullname]["CACHED"] == 1
    assert counts[fail.fullname]["FAILED"] == 1  # errors are not reused: it runs again
    assert counts[recover.fullname]["CACHED"] == 1  # the same error: the recovery is reused
    with sqlite3.connect(db_path) as conn:
        unfinished = conn.execute("select count(*) from job where end_time is null").fetchone()
    assert unfinished == (0,)


# catch_all -----------------------------------------------------------------------------


def test_catch_all_evaluates_everything_then_recovers_with_errors_in_place(scheduler):
    exprs = [record(1), fail("two"), fail("three"), record(4)]
    result = scheduler.run(catch_all(exprs, ValueError, summarize))
    assert result == [1, "error: two", "error: three", 4]
    assert 1 in CALLS and 4 in CALLS


def test_catch_all_keeps_the_shape_of_nested_values(scheduler):
    @task
    def describe(value):
        return {k: repr(v) for k, v in value.items()}

    expr = catch_all({"a": fail("a"), "b": record(2)}, ValueError, describe)
    assert scheduler.run(expr) == {"a": "ValueError('a')", "b": "2"}


def test_catch_all_without_errors_is_the_value(scheduler):
    assert scheduler.run(catch_all({"x": [record(1), 2]}, ValueError, summarize)) == {"x": [1, 2]}


def test_catch_all_raises_the_first_error_that_does_not_match(scheduler):
    with pytest.raises(KeyError, match="k1"):
        scheduler.run(catch_all([fail("v"), fail_key("k1"), fail_key("k2")], ValueError, summarize))
    with pytest.raises(ValueError, match="first"):
        scheduler.run(catch_all([record(0), fail("first"), fail("second")]))
    assert 0 in CALLS


def test_catch_all_with_a_bad_error_class_is_a_clear_error(scheduler):
    with pytest.raises(TypeError, match=r"catch_all\(\): 'oops' is not an exception class"):
        scheduler.run(catch_all([record(1)], "oops", summarize))


# throw -----------------------------------------------------------------------------------


def test_throw_raises_its_error_and_catch_can_recover_it(scheduler):
    assert throw.fullname == "redun.throw" and not throw.is_scheduler_task
    with pytest.raises(ValueError, match="thrown on purpose"):
        scheduler.run(throw(ValueError("thrown on purpose")))
    expr = catch(throw(KeyError("k")), KeyError, recover)
    assert scheduler.run(expr) == "recovered from KeyError: 'k'"


def test_throw_accepts_an_exception_class(scheduler):
    with pytest.raises(KeyError):
        scheduler.run(throw(KeyError))


def test_throw_of_something_that_is_not_an_exception_names_the_fix(scheduler):
    with pytest.raises(TypeError, match=r"throw\(\): expected an exception, got int 5"):
        scheduler.run(throw(5))


def test_throw_records_its_argument_intact(scheduler, db_path):
    with pytest.raises(ValueError):
        scheduler.run(throw(ValueError("kept")))
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("select type from value where type = 'builtins.ValueError'").fetchall()
    assert rows  # the argument was stored as the user's ValueError


# Compatibility ---------------------------------------------------------------------------


def test_builtin_task_hashes_match_redun_0_44():
    """Version-pinned hashes as redun 0.44.1 computes them, so old records still match."""
    from redun import functools as fn

    expected = {
        cond: "13e05ec77fc07ec041d28daa3a86a140db826ab0",
        catch: "c35c210e4586212b0fe50441518ab050ce61156a",
        catch_all: "5a0bfbdf5469b3240fa9fe8df3bf784c7276d6de",
        throw: "bb623d5c3b809f99314a9a562881fdc53c6a089d",
        fn.seq: "e6dd54f334c8ea3c3e4fb80b070b20c920bcbc9c",
        fn.map_: "81b0901c9aa9761d493946001cbf9fccc84b562a",
        fn.flat_map: "95754f11718368bb6bb349efd5cca7fe7d19b2ff",
        fn.const: "b25f8cf2ebf92482c52ea685fa2ccc20868b651e",
        fn.identity: "0a658d07be77eef20f7aafbcae3805c39de2ea6e",
        fn.apply_func: "57835c18bfaf2350ae50743805f0de90b5f395a5",
        fn.eval_: "a1090c7cd56d26024fcafe1a3d41c5986993a850",
        fn.flatten: "a48a701bf39ecbad3d9cf1173b551b2eb8301fbe",
        fn.zip_: "3dfd9dc5a5829ace206bec05373fd62354371e95",
        fn.compose_apply: "cc405a5af92dd1804e304c143c31f1a4764c1269",
    }
    assert {t.fullname: t.hash for t in expected} == {t.fullname: h for t, h in expected.items()}
