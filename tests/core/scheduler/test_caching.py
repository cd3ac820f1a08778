"""The three caching layers (CSE, shallow, full), reactivity to code, data and files."""

from __future__ import annotations

import os

STEPS_V1 = """
from redun import task

redun_namespace = "tests.steps"
RUNS = []


@task()
def step1(x):
    RUNS.append("step1")
    return x + 1


@task()
def step2(x):
    RUNS.append("step2")
    return x * 2


@task()
def main(x):
    RUNS.append("main")
    result1 = step1(x)
    result2 = step2(result1)
    return result2
"""


def test_design_document_step1_step2_example(make_scheduler, write_module):
    module = write_module("steps_workflow", STEPS_V1)
    assert make_scheduler().run(module.main(10)) == 22
    assert module.RUNS == ["main", "step1", "step2"]

    # A new process, same record: everything is cached.
    module = write_module("steps_workflow", STEPS_V1)
    assert make_scheduler().run(module.main(10)) == 22
    assert module.RUNS == []

    # Edit step1: main is not re-run, but the changed step1 (and step2, fed a new value) are.
    module = write_module("steps_workflow", STEPS_V1.replace("x + 1", "x + 2"))
    assert make_scheduler().run(module.main(10)) == 24
    assert module.RUNS == ["step1", "step2"]


def test_common_subexpressions_run_once(scheduler, write_module):
    module = write_module(
        "fib_workflow",
        """
        from redun import task

        CALLS = []

        @task()
        def add(a, b):
            return a + b

        @task()
        def fib(n):
            CALLS.append(n)
            return n if n < 2 else add(fib(n - 1), fib(n - 2))
        """,
    )
    assert scheduler.run(module.fib(25)) == 75025
    assert sorted(module.CALLS) == list(range(26))


def test_new_arguments_rerun_only_what_changed(make_scheduler, write_module):
    source = """
    from redun import task
    RUNS = []

    @task()
    def get_planet():
        RUNS.append("get_planet")
        return "World"

    @task()
    def greeter(greet, thing):
        RUNS.append("greeter")
        return f"{greet}, {thing}!"

    @task()
    def main(greet="Hello"):
        RUNS.append("main")
        return greeter(greet, get_planet())
    """
    module = write_module("greet_workflow", source)
    assert make_scheduler().run(module.main()) == "Hello, World!"
    assert module.RUNS == ["main", "get_planet", "greeter"]
    module.RUNS.clear()
    assert make_scheduler().run(module.main()) == "Hello, World!"
    assert module.RUNS == []
    assert make_scheduler().run(module.main(greet="Hi")) == "Hi, World!"
    assert module.RUNS == ["main", "greeter"]
    module = write_module("greet_workflow", source.replace('"World"', '"Venus"'))
    assert make_scheduler().run(module.main()) == "Hello, Venus!"
    assert module.RUNS == ["get_planet", "greeter"]


def test_no_cache_reruns_but_still_shares_within_execution(scheduler, write_module):
    module = write_module(
        "nocache_workflow",
        """
        from redun import task
        RUNS = []

        @task()
        def leaf(x):
            RUNS.append(x)
            return x

        @task()
        def main():
            return [leaf(1), leaf(1)]
        """,
    )
    assert scheduler.run(module.main()) == [1, 1]
    assert module.RUNS == [1]
    assert scheduler.run(module.main(), cache=False) == [1, 1]
    assert module.RUNS == [1, 1]


def test_task_cache_false_and_cache_scope_none(scheduler, write_module):
    module = write_module(
        "scope_workflow",
        """
        from redun import task
        RUNS = []

        @task(cache=False)
        def volatile(x):
            RUNS.append(("volatile", x))
            return x

        @task(cache_scope="NONE")
        def always(x):
            RUNS.append(("always", x))
            return x
        """,
    )
    scheduler.run([module.volatile(1), module.volatile(1), module.always(2), module.always(2)])
    assert module.RUNS.count(("volatile", 1)) == 1
    assert module.RUNS.count(("always", 2)) == 2
    scheduler.run(module.volatile(1))
    assert module.RUNS.count(("volatile", 1)) == 2


def test_shallow_check_valid_reuses_final_value_until_a_subtree_task_changes(
    make_scheduler, write_module
):
    source = """
    from redun import task
    RUNS = []

    @task()
    def child(x):
        RUNS.append("child")
        return x + 1

    @task(check_valid="shallow")
    def parent(x):
        RUNS.append("parent")
        return child(x)
    """
    module = write_module("shallow_workflow", source)
    assert make_scheduler().run(module.parent(1)) == 2
    module = write_module("shallow_workflow", source)
    assert make_scheduler().run(module.parent(1)) == 2
    assert module.RUNS == []  # the whole subtree was reused without looking inside
    module = write_module("shallow_workflow", source.replace("x + 1", "x + 5"))
    assert make_scheduler().run(module.parent(1)) == 6
    # The shallow check fails, so the full check runs: parent's body is reused, child re-runs.
    assert module.RUNS == ["child"]


def test_deleted_or_edited_output_file_reruns_the_task(make_scheduler, write_module, tmp_path):
    module = write_module(
        "file_workflow",
        f"""
        from redun import File, task
        RUNS = []

        @task()
        def write_output(text):
            RUNS.append(text)
            out = File({str(tmp_path / "out.txt")!r})
            out.write(text)
            return out
        """,
    )
    first = make_scheduler().run(module.write_output("hello"))
    assert first.read() == "hello"
    make_scheduler().run(module.write_output("hello"))
    assert module.RUNS == ["hello"]

    os.remove(tmp_path / "out.txt")
    again = make_scheduler().run(module.write_output("hello"))
    assert module.RUNS == ["hello", "hello"]
    assert again.read() == "hello"

    with open(tmp_path / "out.txt", "w") as out:
        out.write("tampered with")
    make_scheduler().run(module.write_output("hello"))
    assert module.RUNS == ["hello", "hello", "hello"]


def test_changed_input_file_gives_a_new_eval_hash(make_scheduler, write_module, tmp_path):
    data = tmp_path / "input.txt"
    data.write_text("one")
    module = write_module(
        "input_workflow",
        """
        from redun import task
        RUNS = []

        @task()
        def count_chars(f):
            RUNS.append(f.path)
            return len(f.read())
        """,
    )
    from redun import File

    assert make_scheduler().run(module.count_chars(File(str(data)))) == 3
    assert make_scheduler().run(module.count_chars(File(str(data)))) == 3
    assert len(module.RUNS) == 1
    data.write_text("three")
    os.utime(data, (1, 1))
    assert make_scheduler().run(module.count_chars(File(str(data)))) == 5
    assert len(module.RUNS) == 2


def test_dryrun_reports_without_running_or_recording(scheduler, write_module, query):
    module = write_module(
        "dry_workflow",
        """
        from redun import task
        RUNS = []

        @task()
        def work(x):
            RUNS.append(x)
            return x
        """,
    )
    assert scheduler.run(module.work(1), dryrun=True) is None
    assert module.RUNS == []
    assert scheduler.run(module.work(1)) == 1
    assert scheduler.run(module.work(1), dryrun=True) == 1
    assert module.RUNS == [1]
    assert query("select count(*) from execution") == [(1,)]
