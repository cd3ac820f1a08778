"""Expressions: laziness, lazy operators, nesting and the errors that guide users."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections import OrderedDict, defaultdict, namedtuple

import pytest

from redun import task
from redun.expression import (
    Expression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
    is_expression,
)
from redun.nested import contains, iter_leaves, map_nested

redun_namespace = "lang_expr_tests"

calls: list[tuple] = []


@task
def inc(x):
    calls.append(("inc", x))
    return x + 1


@task()
def add(a, b=0):
    calls.append(("add", a, b))
    return a + b


@task(nout=2)
def pair(x):
    calls.append(("pair", x))
    return x, x + 1


Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Box:
    value: object
    label: str = "box"


@dataclasses.dataclass(frozen=True)
class FrozenBox:
    value: object


# Task calls ---------------------------------------------------------------------


def test_task_call_returns_task_expression_without_running_the_body():
    calls.clear()
    expr = add(inc(1), b=2)
    assert isinstance(expr, TaskExpression)
    assert expr.task_name == "lang_expr_tests.add"
    assert isinstance(expr.args[0], TaskExpression)
    assert expr.args[0].args == (1,)
    assert expr.kwargs == {"b": 2}
    assert expr.task is add
    assert calls == []


def test_task_expression_repr_names_task_and_args():
    assert repr(add(1, b=2)) == "lang_expr_tests.add(1, b=2)"


# Lazy operators ---------------------------------------------------------------------

OPERATOR_CASES = [
    (lambda e: e == 1, "eq", 1),
    (lambda e: e != 1, "ne", 1),
    (lambda e: e < 1, "lt", 1),
    (lambda e: e <= 1, "le", 1),
    (lambda e: e > 1, "gt", 1),
    (lambda e: e >= 1, "ge", 1),
    (lambda e: e + 1, "add", 1),
    (lambda e: e - 1, "sub", 1),
    (lambda e: e * 2, "mul", 2),
    (lambda e: e / 2, "div", 2),
    (lambda e: e & 3, "and", 3),
    (lambda e: e | 3, "or", 3),
]


@pytest.mark.parametrize("build, func_name, other", OPERATOR_CASES)
def test_operators_build_simple_expressions(build, func_name, other):
    expr = inc(5)
    result = build(expr)
    assert isinstance(result, SimpleExpression)
    assert result.func_name == func_name
    assert result.args[0] is expr
    assert result.args[1] == other
    assert result.kwargs == {}


@pytest.mark.parametrize(
    "build, func_name, other",
    [
        (lambda e: 1 + e, "add", 1),
        (lambda e: 10 - e, "sub", 10),
        (lambda e: 2 * e, "mul", 2),
        (lambda e: 8 / e, "div", 8),
        (lambda e: 3 & e, "and", 3),
        (lambda e: 3 | e, "or", 3),
    ],
)
def test_reflected_operators_keep_operand_order(build, func_name, other):
    expr = inc(5)
    result = build(expr)
    assert isinstance(result, SimpleExpression)
    assert result.func_name == func_name
    assert result.args[0] == other
    assert result.args[1] is expr
    # Applying to the concrete value must give what Python would have computed.
    assert result.apply((other, 6), {}) == build(6)


def test_reflected_comparisons_swap_to_the_mirrored_operator():
    expr = inc(5)
    assert (1 == expr).func_name == "eq"
    assert (1 < expr).func_name == "gt"
    assert (1 >= expr).func_name == "le"
    assert (1 < expr).args == (expr, 1)


def test_operators_chain_into_a_graph():
    expr = (inc(1) + inc(2)) * 3
    assert expr.func_name == "mul"
    inner = expr.args[0]
    assert inner.func_name == "add"
    assert [a.args for a in inner.args] == [(1,), (2,)]


def test_getattr_getitem_and_call_are_lazy():
    expr = inc(1)
    attr = expr.real
    assert isinstance(attr, SimpleExpression)
    assert (attr.func_name, attr.args) == ("getattr", (expr, "real"))

    item = expr["key"]
    assert (item.func_name, item.args) == ("getitem", (expr, "key"))

    called = expr(1, 2, k=3)
    assert called.func_name == "call"
    assert called.args == (expr, (1, 2), {"k": 3})

    method_call = expr.upper()
    assert method_call.func_name == "call"
    assert method_call.args[0].func_name == "getattr"


def test_private_and_dunder_attributes_raise_attribute_error():
    expr = inc(1)
    with pytest.raises(AttributeError):
        expr._private  # noqa: B018
    with pytest.raises(AttributeError):
        expr.__deepcopy__  # noqa: B018
    assert not hasattr(expr, "_anything")
    assert getattr(expr, "__copy__", None) is None


def test_copy_deepcopy_and_pickle_of_expressions():
    expr = add(inc(1), b=Box(inc(2)))
    for clone in (copy.copy(expr), copy.deepcopy(expr), pickle.loads(pickle.dumps(expr))):
        assert isinstance(clone, TaskExpression)
        assert clone is not expr
        assert clone.task_name == expr.task_name
        assert clone.args[0].args == (1,)
        assert clone.kwargs["b"].value.args == (2,)
        assert clone.get_hash() == expr.get_hash()

    simple = inc(1).attr[0] + 2
    clone = pickle.loads(pickle.dumps(simple))
    assert clone.func_name == "add"
    assert clone.args[0].func_name == "getitem"
    assert clone.get_hash() == simple.get_hash()

    value = ValueExpression([1, 2])
    clone = copy.deepcopy(value)
    assert clone.value == [1, 2] and clone.value is not value.value
    assert clone.get_hash() == value.get_hash()


def test_bool_raises_type_error_with_guidance():
    expr = inc(1)
    with pytest.raises(TypeError, match="lazy") as info:
        bool(expr)
    assert "redun.cond" in str(info.value) or "task" in str(info.value)
    with pytest.raises(TypeError):
        if expr == 2:
            pass
    with pytest.raises(TypeError):
        not expr  # noqa: B018


def test_iterating_a_plain_expression_raises_type_error():
    with pytest.raises(TypeError, match="nout"):
        iter(inc(1))
    with pytest.raises(TypeError):
        a, b = inc(1)
    with pytest.raises(TypeError):
        list(inc(1) + 1)
    with pytest.raises(TypeError):
        1 in inc(1)  # noqa: B015
    with pytest.raises(TypeError, match="nout"):
        len(inc(1))


def test_nout_unpacking_yields_getitem_expressions():
    calls.clear()
    expr = pair(3)
    first, second = expr
    assert len(expr) == 2
    for index, part in enumerate((first, second)):
        assert isinstance(part, SimpleExpression)
        assert part.func_name == "getitem"
        assert part.args == (expr, index)
    assert calls == []
    with pytest.raises(ValueError):
        a, b, c = pair(3)


def test_nout_survives_options_and_pickle():
    a, b = pair.options(memory=2)(1)
    assert a.args[1] == 0 and b.args[1] == 1
    clone = pickle.loads(pickle.dumps(pair(1)))
    x, y = clone
    assert y.args == (clone, 1)


# Simple expression application ------------------------------------------------------


@pytest.mark.parametrize(
    "func_name, args, expected",
    [
        ("eq", (1, 1), True),
        ("ne", (1, 1), False),
        ("lt", (1, 2), True),
        ("le", (2, 2), True),
        ("gt", (1, 2), False),
        ("ge", (1, 2), False),
        ("add", ("a", "b"), "ab"),
        ("sub", (5, 3), 2),
        ("mul", ("x", 3), "xxx"),
        ("div", (7, 2), 3.5),
        ("and", (0b110, 0b011), 0b010),
        ("or", (0b100, 0b001), 0b101),
        ("getitem", ({"k": 9}, "k"), 9),
        ("getattr", (3 + 4j, "imag"), 4.0),
        ("call", (max, (3, 8), {}), 8),
        # Reflected names as pickled by redun 0.4x: args are (self, other).
        ("radd", ("a", "b"), "ba"),
        ("rsub", (3, 5), 2),
        ("rmul", (3, "x"), "xxx"),
        ("rdiv", (2, 7), 3.5),
        ("rand", (0b011, 0b110), 0b010),
        ("ror", (0b001, 0b100), 0b101),
    ],
)
def test_simple_expression_apply(func_name, args, expected):
    assert SimpleExpression(func_name, args).apply(args, {}) == expected


def test_call_expression_applies_keyword_arguments():
    expr = inc(1)(2, key=len)
    assert expr.apply((max, ([1, 2, 3], [4]), {"key": len}), {}) == [1, 2, 3]


# Nested values ------------------------------------------------------------------------


def _nested_args():
    e1, e2, e3, e4, e5, e6, e7 = (inc(i) for i in range(7))
    value = [
        e1,
        (e2, 5),
        {"a": e3, "b": "plain"},
        {e4, 10},
        Point(e5, 1),
        Box(e6),
        FrozenBox([{"deep": e7}]),
    ]
    return value, [e1, e2, e3, e4, e5, e6, e7]


def test_iter_leaves_finds_expressions_in_every_container():
    value, exprs = _nested_args()
    found = list(iter_leaves(value, is_expression))
    assert len(found) == len(exprs)
    assert {id(e) for e in found} == {id(e) for e in exprs}
    assert contains(value, is_expression)
    assert not contains([1, (2, "x"), {"a": {3}}, Point(1, 2), Box(4)], is_expression)


def test_map_nested_rebuilds_every_container_type():
    value, exprs = _nested_args()
    concrete = {id(e): e.args[0] * 100 for e in exprs}
    result = map_nested(value, is_expression, lambda e: concrete[id(e)])
    assert result == [
        0,
        (100, 5),
        {"a": 200, "b": "plain"},
        {300, 10},
        Point(400, 1),
        Box(500),
        FrozenBox([{"deep": 600}]),
    ]
    assert type(result[4]) is Point
    assert type(result[5]) is Box and result[5].label == "box"
    # The original is untouched.
    assert value[0] is exprs[0]
    assert value[5].value is exprs[5]


def test_map_nested_keeps_dict_and_tuple_subclasses():
    expr = inc(1)
    ordered = map_nested(OrderedDict([("z", expr), ("a", 1)]), is_expression, lambda e: 2)
    assert type(ordered) is OrderedDict and list(ordered.items()) == [("z", 2), ("a", 1)]

    with_default = defaultdict(list, {"k": expr})
    result = map_nested(with_default, is_expression, lambda e: 7)
    assert type(result) is defaultdict and result["k"] == 7
    assert result["missing"] == []
    assert with_default["k"] is expr

    class Pair(tuple):
        pass

    result = map_nested(Pair((expr, 1)), is_expression, lambda e: 3)
    assert type(result) is Pair and tuple(result) == (3, 1)


def test_map_nested_returns_leafless_containers_unchanged():
    plain = {"a": [1, 2]}
    assert map_nested(plain, is_expression, lambda e: 0) is plain
    box = Box([1])
    assert map_nested(box, is_expression, lambda e: 0) is box


def test_task_expression_finds_nested_argument_expressions():
    value, exprs = _nested_args()
    expr = add(value, b={"x": exprs[0]})
    found = list(iter_leaves((expr.args, expr.kwargs), is_expression))
    assert len(found) == len(exprs) + 1


def test_value_expression_wraps_concrete_values():
    expr = ValueExpression(42)
    assert isinstance(expr, Expression)
    assert expr.value == 42
    assert ValueExpression(42).get_hash() == expr.get_hash()
    assert ValueExpression(43).get_hash() != expr.get_hash()
