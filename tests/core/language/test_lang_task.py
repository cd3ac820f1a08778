"""Tasks: decorators, options, names and namespaces, hashes, partials and pickling."""

from __future__ import annotations

import pickle

import pytest

import redun
from redun import PartialTask, Task, get_task_registry, task
from redun.expression import TaskExpression
from redun.hashing import hash_arguments, hash_struct
from redun.task import get_func_source
from redun.values import get_value_hash

redun_namespace = "lang_task_tests"


@task
def bare(x):
    return x


@task()
def empty_parens(x):
    return x


@task(cache=False, memory=3, executor="batch", limits={"db": 1}, tags=[("a", "b")])
def configured(x):
    return x


@task
def add3(a, b, c=0):
    return a + b + c


# Decorators and options ------------------------------------------------------------


def test_bare_and_called_decorators_make_tasks():
    for t, name in ((bare, "bare"), (empty_parens, "empty_parens")):
        assert isinstance(t, Task)
        assert t.name == name
        assert t.namespace == "lang_task_tests"
        assert t.fullname == f"lang_task_tests.{name}"
        assert t.func(5) == 5
        assert isinstance(t(1), TaskExpression)


def test_decorated_function_keeps_docstring():
    def documented(x):
        """Say what it does."""
        return x

    assert task(documented).__doc__ == "Say what it does."


def test_options_are_stored_and_readable():
    assert configured.task_options["memory"] == 3
    assert configured.get_option("cache") is False
    assert configured.get_option("executor") == "batch"
    assert configured.get_option("limits") == {"db": 1}
    assert configured.get_option("missing") is None
    assert configured.get_option("missing", 7) == 7
    assert configured.has_option("memory")
    assert not configured.has_option("vcpus")
    assert configured.all_options["tags"] == [("a", "b")]
    assert bare.task_options == {}


def test_nout_must_be_a_non_negative_int():
    def f(x):
        return x

    assert Task(f, nout=3).nout == 3
    for bad in (-1, "2", 1.5):
        with pytest.raises(ValueError, match="nout"):
            Task(f, nout=bad)


# Names and namespaces -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["ok", "_private", "Mixed_Case9", "a1"])
def test_valid_names(name):
    assert Task(lambda: None, name=name, namespace="").name == name


@pytest.mark.parametrize("name", ["bad-name", "1abc", "has space", "dot.ted", "abc\n", "é"])
def test_invalid_names_raise(name):
    def f():
        return None

    with pytest.raises(ValueError, match="invalid task name"):
        Task(f, name=name)


def test_function_name_is_validated_too():
    def f():
        return None

    f.__name__ = "not-valid"
    with pytest.raises(ValueError, match="not-valid"):
        task(f)
    f.__name__ = "fine"
    assert Task(f, name="").name == "fine"  # an empty name falls back to the function's


@pytest.mark.parametrize("namespace", ["ns", "a.b.c", "_x.y_1", "A9"])
def test_valid_namespaces(namespace):
    t = Task(lambda: None, name="f", namespace=namespace)
    assert t.namespace == namespace
    assert t.fullname == f"{namespace}.f"


@pytest.mark.parametrize("namespace", ["a-b", "1a", "a b", "a/b", ".a", "ns\n"])
def test_invalid_namespaces_raise(namespace):
    with pytest.raises(ValueError, match="invalid namespace"):
        Task(lambda: None, name="f", namespace=namespace)
    with pytest.raises(ValueError, match="invalid namespace"):
        with redun.namespace(namespace):
            pass


def test_namespace_priority_explicit_over_module_over_context(make_module):
    mod = make_module(
        """
        import redun
        from redun import task

        redun_namespace = "from_module"

        @task
        def module_level(x):
            return x

        @task(namespace="explicit")
        def explicit(x):
            return x

        with redun.namespace("from_context"):
            @task
            def in_context(x):
                return x

            @task(namespace="explicit2")
            def explicit_in_context(x):
                return x
        """
    )
    assert mod.module_level.fullname == "from_module.module_level"
    assert mod.explicit.fullname == "explicit.explicit"
    assert mod.in_context.fullname == "from_module.in_context"
    assert mod.explicit_in_context.fullname == "explicit2.explicit_in_context"


def test_context_namespace_applies_without_module_namespace(make_module):
    mod = make_module(
        """
        import redun
        from redun import task

        @task
        def before(x):
            return x

        with redun.namespace("ctx"):
            @task
            def inside(x):
                return x

            with redun.namespace("ctx.inner"):
                @task
                def nested(x):
                    return x

            inside_ns = redun.get_current_namespace()

        @task
        def after(x):
            return x
        """
    )
    assert mod.before.fullname == "before"
    assert mod.inside.fullname == "ctx.inside"
    assert mod.nested.fullname == "ctx.inner.nested"
    assert mod.inside_ns == "ctx"
    assert mod.after.fullname == "after"
    assert redun.get_current_namespace() == ""


def test_namespace_context_is_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with redun.namespace("boom"):
            assert redun.get_current_namespace() == "boom"
            raise RuntimeError("inside")
    assert redun.get_current_namespace() == ""


# Registry ------------------------------------------------------------------------------


def test_registry_lookup():
    registry = get_task_registry()
    assert registry.get("lang_task_tests.bare") is bare
    assert registry.get_or_raise("lang_task_tests.add3") is add3
    assert registry.get("bare") is None
    assert bare in list(registry)
    assert len(registry) >= 4
    with pytest.raises(LookupError, match="no_such_task.*imported"):
        registry.get_or_raise("lang_task_tests.no_such_task")


def test_expression_resolves_its_task_through_the_registry():
    expr = pickle.loads(pickle.dumps(add3(1, 2)))
    assert expr.task is add3


# Hashes --------------------------------------------------------------------------------


def test_source_drops_decorator_lines_and_keeps_indentation(make_module):
    mod = make_module(
        '''
        from redun import task


        @task(
            cache=True,
        )
        # a comment between
        def top(x):
            return x


        def outer():
            @task(namespace="inner")
            def nested(y):
                """Doc."""
                return y

            return nested


        nested = outer()
        '''
    )
    assert mod.top.source == "def top(x):\n    return x\n"
    assert mod.nested.source == '    def nested(y):\n        """Doc."""\n        return y\n'
    assert get_func_source(mod.top.func) == mod.top.source
    assert mod.top.hash == hash_struct(["Task", "top", "source", mod.top.source])


TASK_TEMPLATE = """
from redun import task


def helper(x):
    return x {helper_op} 1


@task(namespace="lang_hash_ns", name="same"{options})
def anything(x):
    return x {body_op} 1
"""


def _task_hash(make_module, body_op="+", helper_op="+", options=""):
    source = TASK_TEMPLATE.format(body_op=body_op, helper_op=helper_op, options=options)
    # One module name throughout, so the helper's full name never differs.
    return make_module(source, name="lang_template_mod").anything


def test_task_hash_changes_when_source_changes(make_module):
    first = _task_hash(make_module, body_op="+")
    second = _task_hash(make_module, body_op="-")
    again = _task_hash(make_module, body_op="+")
    assert first.fullname == second.fullname == "lang_hash_ns.same"
    assert first.hash != second.hash
    assert first.hash == again.hash


def test_version_replaces_source_in_hash(make_module):
    first = _task_hash(make_module, body_op="+", options=', version="1"')
    second = _task_hash(make_module, body_op="-", options=', version="1"')
    third = _task_hash(make_module, body_op="-", options=', version="2"')
    assert first.hash == second.hash
    assert first.hash != third.hash
    assert first.hash == hash_struct(["Task", "lang_hash_ns.same", "version", "1"])


def test_explicit_source_replaces_function_source(make_module):
    first = _task_hash(make_module, body_op="+", options=', source="fixed"')
    second = _task_hash(make_module, body_op="-", options=', source="fixed"')
    assert (
        first.hash == second.hash == hash_struct(["Task", "lang_hash_ns.same", "source", "fixed"])
    )


def test_hash_includes_join_the_hash(make_module):
    plain = _task_hash(make_module)
    with_value = _task_hash(make_module, options=", hash_includes=[5]")
    assert with_value.hash != plain.hash
    assert with_value.hash == hash_struct(
        ["Task", plain.fullname, "source", plain.source, get_value_hash(5)]
    )
    other_value = _task_hash(make_module, options=", hash_includes=[6]")
    assert other_value.hash != with_value.hash
    # Order of the includes does not matter.
    ab = _task_hash(make_module, options=', hash_includes=[5, "b"]')
    ba = _task_hash(make_module, options=', hash_includes=["b", 5]')
    assert ab.hash == ba.hash


def test_included_function_source_changes_the_hash(make_module):
    plus = _task_hash(make_module, helper_op="+", options=", hash_includes=[helper]")
    minus = _task_hash(make_module, helper_op="-", options=", hash_includes=[helper]")
    plus_again = _task_hash(make_module, helper_op="+", options=", hash_includes=[helper]")
    assert plus.source == minus.source
    assert plus.hash != minus.hash
    assert plus.hash == plus_again.hash


def test_compat_option_pins_the_hash():
    pinned = Task(lambda: None, name="pinned", namespace="", compat=["a" * 40, "b" * 40])
    assert pinned.hash == "a" * 40


# Compatibility vectors computed with redun 0.44.1 ------------------------------------

VECTOR_HELPERS = """\
def helper(x):
    return x + 1
"""

VECTOR_TASKS = """\
from redun import task

import langvec_helpers

redun_namespace = "langvec"


@task(hash_includes=[langvec_helpers.helper, 5])
def inc(x, cfg=None):
    return x + 1


@task(version="3")
def ver(x):
    return x


@task(config_args=["cfg"])
def conf(x, cfg=None):
    return x
"""


@pytest.fixture
def vector_module(make_module):
    make_module(VECTOR_HELPERS, name="langvec_helpers")
    return make_module(VECTOR_TASKS, name="langvec_tasks")


def test_hashes_match_redun_044(vector_module):
    m = vector_module
    assert get_value_hash(m.langvec_helpers.helper) == "2950ff3ef1f60357fd786323ad217f938eb51002"
    assert m.inc.hash == "c886f53a724230a1cc8bda03e3e1b342798c1c26"
    assert m.ver.hash == "8baa2e12e1940f673aad2c37237e5631a6170861"
    assert m.conf.hash == "93d761f32521884a57a7fb13f6799ad2f4205391"
    assert m.conf.options(memory=4, cache=False).hash == "2dd6c34a6e1b6cafc070887a69d1e55819bf52d7"
    assert (
        m.ver.options(vcpus=2).options(memory=1).hash == "3bc6aee51479ac69a1285750a4f2b8125d3bfeee"
    )
    assert get_value_hash(m.conf.partial(1, cfg=2)) == "5ec1b9d60dc004aa79a80e67dc5afbc19a9bd8f2"


# options() -----------------------------------------------------------------------------


def test_options_returns_a_hashed_copy():
    original_hash = configured.hash
    updated = configured.options(memory=8, vcpus=2)
    assert updated is not configured
    assert isinstance(updated, Task)
    assert updated.fullname == configured.fullname
    assert updated.hash != original_hash
    assert updated.get_option("memory") == 8
    assert updated.get_option("vcpus") == 2
    assert updated.get_option("executor") == "batch"  # inherited
    # The original is unchanged.
    assert configured.hash == original_hash
    assert configured.get_option("memory") == 3
    assert not configured.has_option("vcpus")
    assert get_task_registry().get(configured.fullname) is configured


def test_options_are_deterministic_and_chain():
    assert bare.options(memory=1).hash == bare.options(memory=1).hash
    assert bare.options(memory=1).hash != bare.options(memory=2).hash
    chained = bare.options(memory=1).options(vcpus=4)
    assert chained.get_option("memory") == 1 and chained.get_option("vcpus") == 4
    assert chained.hash == bare.options(memory=1, vcpus=4).hash
    assert bare.options(memory=1).options(memory=2).get_option("memory") == 2


def test_options_travel_with_the_expression():
    updated = bare.options(memory=5)
    expr = updated(1)
    assert expr.task.get_option("memory") == 5
    clone = pickle.loads(pickle.dumps(expr))
    assert clone.task.get_option("memory") == 5
    assert clone.task.hash == updated.hash
    assert clone.get_hash() == expr.get_hash()
    assert clone.get_hash() != bare(1).get_hash()


@pytest.mark.parametrize("key", ["name", "namespace", "version", "hash_includes", "source"])
def test_definition_keys_cannot_be_overridden(key):
    with pytest.raises(ValueError, match=key):
        bare.options(**{key: "x"})


# partial() -----------------------------------------------------------------------------


def test_partial_produces_expression_with_merged_args():
    partial = add3.partial(1, c=3)
    assert isinstance(partial, PartialTask)
    assert partial.fullname == add3.fullname
    expr = partial(2)
    assert isinstance(expr, TaskExpression)
    assert expr.task_name == add3.fullname
    assert expr.args == (1, 2)
    assert expr.kwargs == {"c": 3}
    # Call-time keywords win over the partial's.
    assert partial(2, c=9).kwargs == {"c": 9}


def test_partial_of_partial():
    inner = add3.partial(1)
    outer = inner.partial(2, c=5)
    expr = outer()
    assert (expr.args, expr.kwargs) == ((1, 2), {"c": 5})
    assert inner().args == (1,)  # the inner partial is unchanged
    assert add3.partial(c=1).partial(c=2)().kwargs == {"c": 2}


def test_partial_is_a_hashable_value():
    first = add3.partial(1, c=3)
    assert get_value_hash(first) == get_value_hash(add3.partial(1, c=3))
    assert get_value_hash(first) != get_value_hash(add3.partial(2, c=3))
    assert get_value_hash(first) != get_value_hash(add3.partial(1, c=4))
    assert get_value_hash(first) != get_value_hash(bare.partial(1, c=3))
    assert get_value_hash(first) == hash_struct(
        [
            "PartialTask",
            add3.hash,
            hash_arguments([get_value_hash(1)], {"c": get_value_hash(3)}),
        ]
    )


def test_partial_pickles_and_takes_options():
    partial = add3.partial(1, c=3)
    clone = pickle.loads(pickle.dumps(partial))
    assert clone.task is add3
    assert (clone.args, clone.kwargs) == ((1,), {"c": 3})
    assert get_value_hash(clone) == get_value_hash(partial)
    with_options = partial.options(memory=2)
    assert with_options.task.get_option("memory") == 2
    assert with_options(2).task.get_option("memory") == 2


# Pickling tasks ------------------------------------------------------------------------


def test_task_pickle_round_trips_to_registered_task():
    assert pickle.loads(pickle.dumps(add3)) is add3
    assert pickle.loads(pickle.dumps(add3, protocol=3)) is add3
    updated = pickle.loads(pickle.dumps(add3.options(memory=2)))
    assert updated.hash == add3.options(memory=2).hash
    assert updated.get_option("memory") == 2


FRESH_MODULE = """
from redun import task

redun_namespace = "fresh"


@task(version="7")
def fresh_task(x):
    return x * 2
"""


def test_task_unpickles_in_fresh_process_by_module_name(make_module, run_python, tmp_path):
    mod = make_module(FRESH_MODULE, name="lang_fresh_mod")
    data = tmp_path / "task.pkl"
    data.write_bytes(pickle.dumps([mod.fresh_task, mod.fresh_task.options(memory=3)]))
    code = f"""
        import pickle, sys
        assert "lang_fresh_mod" not in sys.modules
        plain, updated = pickle.load(open({str(data)!r}, "rb"))
        print(plain.fullname, plain.hash, plain.func(21))
        print(updated.hash, updated.get_option("memory"))
    """
    first, second = run_python(code).splitlines()
    assert first == f"fresh.fresh_task {mod.fresh_task.hash} 42"
    assert second == f"{mod.fresh_task.options(memory=3).hash} 3"


def test_task_unpickles_from_file_path_when_not_importable(make_module, run_python, tmp_path):
    mod = make_module(FRESH_MODULE, name="lang_path_mod")
    data = tmp_path / "task.pkl"
    data.write_bytes(pickle.dumps(mod.fresh_task))
    code = f"""
        import pickle
        task = pickle.load(open({str(data)!r}, "rb"))
        print(task.fullname, task.hash)
    """
    assert run_python(code, pythonpath=None) == f"fresh.fresh_task {mod.fresh_task.hash}"


# config_args ---------------------------------------------------------------------------


@task(config_args=["cfg", "rest"])
def configurable(x, cfg=None, *rest, flag=False):
    return x


def test_config_args_are_left_out_of_args_hash():
    base = configurable.args_hash((1,), {})
    assert configurable.args_hash((1,), {"cfg": "a"}) == base
    assert configurable.args_hash((1, "positional-cfg"), {}) == base
    assert configurable.args_hash((1, "cfg", 3, 4), {}) == base  # *rest is a config arg too
    assert base == hash_arguments([get_value_hash(1)], {})
    # Other arguments still count.
    assert configurable.args_hash((2,), {}) != base
    assert configurable.args_hash((1,), {"flag": True}) != base


def test_args_hash_without_config_args_counts_everything():
    assert add3.args_hash((1, 2), {}) != add3.args_hash((1, 3), {})
    assert add3.args_hash((1, 2), {"c": 1}) == hash_arguments(
        [get_value_hash(1), get_value_hash(2)], {"c": get_value_hash(1)}
    )


def test_config_args_can_come_from_options():
    updated = add3.options(config_args=["c"])
    assert updated.args_hash((1, 2), {"c": 5}) == add3.args_hash((1, 2), {})


# Scheduler tasks -----------------------------------------------------------------------


def test_scheduler_task_builds_scheduler_expressions():
    from redun.expression import SchedulerExpression

    @redun.scheduler_task(namespace="lang_sched")
    def special(scheduler, parent_job, sexpr, x):
        return x

    assert special.is_scheduler_task
    assert not bare.is_scheduler_task
    assert special.fullname == "lang_sched.special"
    assert special.version == "1"
    expr = special(bare(1))
    assert isinstance(expr, SchedulerExpression)
    assert isinstance(expr.args[0], TaskExpression)
    assert get_task_registry().get("lang_sched.special") is special
    plain_call = TaskExpression(special.fullname, expr.args, {})
    assert expr.get_hash() != plain_call.get_hash()


def test_empty_namespace_block_clears_the_namespace():
    with redun.namespace("outer"):
        with redun.namespace():
            assert redun.get_current_namespace() == ""
        assert redun.get_current_namespace() == "outer"
    assert redun.get_current_namespace() == ""
