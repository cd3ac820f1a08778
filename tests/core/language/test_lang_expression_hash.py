"""Expression hashes: stable across processes, structural, and safe on deep graphs."""

from __future__ import annotations

import pickle
import sys

import pytest

from redun.expression import SimpleExpression, TaskExpression, ValueExpression

MODULE = """
import dataclasses
from collections import namedtuple

from redun import task

redun_namespace = "lang_hash"


@task
def inc(x):
    return x + 1


@task
def combine(*args, **kwargs):
    return args, kwargs


class Opaque:
    # No __repr__: its default repr would show a memory address.
    def __init__(self, value):
        self.value = value


class Labeled:
    # Every instance has the same repr, whatever its value.
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "Labeled(...)"


Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Box:
    value: object


def build():
    shared = inc(0)
    return combine(
        shared,
        inc(shared) + 1,
        [inc(1), Opaque(5)],
        {"b": inc(2), "a": Opaque(6)},
        {inc(3), inc(4), "tag", 7},
        Point(inc(5), Opaque(7)),
        Box(inc(6)),
        (shared == 3)["key"].attr(9, k=inc(7)),
        option=frozenset({"x", "y", "z"}),
    )


def deep(n):
    x = 0
    for _ in range(n):
        x = inc(x)
    return x
"""


@pytest.fixture
def mod(make_module):
    return make_module(MODULE, name="lang_hash_mod")


def test_hash_is_stable_across_processes(mod, run_python):
    expected = mod.build().get_hash()
    code = "import lang_hash_mod; print(lang_hash_mod.build().get_hash())"
    # Different hash seeds change set iteration order; memory addresses differ too.
    for seed in (0, 1, 12345):
        assert run_python(code, hashseed=seed) == expected


def test_hash_is_stable_within_a_process(mod):
    assert mod.build().get_hash() == mod.build().get_hash()
    expr = mod.build()
    assert expr.get_hash() == expr.get_hash()
    assert len(expr.get_hash()) == 40


def test_hash_changes_when_arguments_change(mod):
    base = mod.inc(1).get_hash()
    assert mod.inc(2).get_hash() != base
    assert mod.inc("1").get_hash() != base
    assert mod.inc(x=1).get_hash() != base
    assert mod.combine(1).get_hash() != base  # different task
    assert mod.inc(mod.inc(1)).get_hash() != mod.inc(mod.inc(2)).get_hash()
    # Nested containers: a change deep inside changes the hash.
    assert (
        mod.combine([mod.inc(1), mod.Opaque(5)]).get_hash()
        != mod.combine([mod.inc(1), mod.Opaque(6)]).get_hash()
    )
    assert mod.combine({"a": mod.inc(1)}).get_hash() != mod.combine({"b": mod.inc(1)}).get_hash()
    assert mod.combine([mod.inc(1)]).get_hash() != mod.combine((mod.inc(1),)).get_hash()
    assert mod.combine([mod.inc(1)]).get_hash() != mod.combine(mod.inc(1)).get_hash()


def test_hash_distinguishes_values_with_equal_reprs(mod):
    left = mod.combine([mod.inc(1), mod.Labeled(1)]).get_hash()
    right = mod.combine([mod.inc(1), mod.Labeled(2)]).get_hash()
    assert left != right


def test_operator_expressions_hash_by_operation_and_operands(mod):
    e = mod.inc(1)
    assert (e + 1).get_hash() == (mod.inc(1) + 1).get_hash()
    assert (e + 1).get_hash() != (e - 1).get_hash()
    assert (e + 1).get_hash() != (e + 2).get_hash()
    assert (e + 1).get_hash() != (1 + e).get_hash()
    assert e["a"].get_hash() != e.a.get_hash()
    assert e(1).get_hash() != e(x=1).get_hash()


def test_equal_structure_gives_equal_hash(mod):
    shared = mod.inc(1)
    with_sharing = mod.combine(shared, shared)
    without_sharing = mod.combine(mod.inc(1), mod.inc(1))
    assert with_sharing.get_hash() == without_sharing.get_hash()
    # Dict insertion order and set construction order do not matter.
    assert (
        mod.combine({"a": mod.inc(1), "b": 2}).get_hash()
        == mod.combine({"b": 2, "a": mod.inc(1)}).get_hash()
    )
    left = mod.combine({mod.inc(1), mod.inc(2), mod.inc(3)})
    right = mod.combine({mod.inc(3), mod.inc(2), mod.inc(1)})
    assert left.get_hash() == right.get_hash()


def test_options_join_the_expression_hash(mod):
    assert mod.inc.options(memory=4)(1).get_hash() != mod.inc(1).get_hash()
    assert mod.inc.options(memory=4)(1).get_hash() == mod.inc.options(memory=4)(1).get_hash()


def test_value_expression_hash_follows_its_value():
    assert ValueExpression([1, 2]).get_hash() == ValueExpression([1, 2]).get_hash()
    assert ValueExpression([1, 2]).get_hash() != ValueExpression([2, 1]).get_hash()
    assert ValueExpression(1).get_hash() != SimpleExpression("add", (1,)).get_hash()


def test_deep_chain_hash_without_recursion_error(mod):
    depth = 10_000
    assert depth > sys.getrecursionlimit()
    chain = mod.deep(depth)
    digest = chain.get_hash()
    assert digest == mod.deep(depth).get_hash()
    assert digest != mod.deep(depth - 1).get_hash()
    # Every link got its own hash on the way.
    assert chain.args[0].get_hash() == mod.deep(depth - 1).get_hash()


def test_deep_chain_pickle_round_trip(mod):
    depth = 10_000
    chain = mod.deep(depth)
    digest = chain.get_hash()
    for protocol in (3, pickle.HIGHEST_PROTOCOL):
        clone = pickle.loads(pickle.dumps(chain, protocol=protocol))
        node, links = clone, 0
        while isinstance(node, TaskExpression):
            assert node.task_name == "lang_hash.inc"
            node = node.args[0]
            links += 1
        assert (links, node) == (depth, 0)
        assert clone.get_hash() == digest
    # The storage path used by the record round-trips too.
    clone = pickle.loads(chain.serialize())
    assert clone.get_hash() == digest


def test_wide_and_deep_sums_pickle(mod):
    total = mod.inc(0)
    for i in range(5_000):
        total = total + mod.inc(i)
    clone = pickle.loads(pickle.dumps(total))
    assert clone.get_hash() == total.get_hash()


def test_pickle_preserves_shared_sub_expressions(mod):
    shared = mod.inc(1)
    expr = mod.combine(shared, [shared], {"k": shared + 1})
    clone = pickle.loads(pickle.dumps(expr))
    first = clone.args[0]
    assert clone.args[1][0] is first
    assert clone.args[2]["k"].args[0] is first
    assert clone.get_hash() == expr.get_hash()


def test_pickled_hash_matches_other_process(mod, run_python, tmp_path):
    expr = mod.build()
    (tmp_path / "expr.pkl").write_bytes(pickle.dumps(expr))
    code = f"""
        import pickle
        import lang_hash_mod  # defines the tasks the expression names
        expr = pickle.load(open({str(tmp_path / "expr.pkl")!r}, "rb"))
        print(expr.get_hash())
        print(expr.task.fullname)
    """
    digest, fullname = run_python(code, hashseed=7).splitlines()
    assert digest == expr.get_hash()
    assert fullname == "lang_hash.combine"


def test_deep_chain_errors_and_repr_stay_short(mod):
    chain = mod.deep(10_000)
    text = repr(chain)
    assert text.startswith("lang_hash.inc(lang_hash.inc(") and "..." in text
    assert len(text) < 1_000
    with pytest.raises(TypeError, match="lazy"):
        bool(chain)
    with pytest.raises(TypeError):
        iter(chain + 1)
    assert repr(mod.inc(1) + 2) == "SimpleExpression('add', (lang_hash.inc(1), 2))"
