"""How expressions pickle: redun 0.44.1's layout for shallow graphs, a flat table for deep ones."""

from __future__ import annotations

import base64
import copy
import copyreg
import pickle
import pickletools
import zlib

import pytest

from redun import scheduler_task, task
from redun.expression import (
    Expression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
)

redun_namespace = "lang_pickle44"


@task()
def planet():
    return "World"


@task()
def greet(greeting, thing, flag=None):
    return f"{greeting}, {thing}!"


@task(nout=2)
def pair(x):
    return x, x + 1


@task()
def inc(x):
    return x + 1


@task()
def join(a, b):
    return (a, b)


@scheduler_task(namespace="lang_pickle44")
def special(scheduler, parent_job, sexpr, value):
    return value


def build_tree():
    first, _ = pair.options(memory=3)(1)
    return greet.options(executor="batch")("Hi", [planet(), first + 1, {"k": 2.5}], flag=(1, None))


def build_shared():
    shared = planet()
    first, second = pair.options(memory=3)(1)
    return greet.options(executor="batch")(
        shared, [shared, first + 1, second["k"]], flag=shared == "x"
    )


def _blob(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


# `build_tree().serialize()` and `build_shared().serialize()` as written by redun 0.44.1
# (same namespace and task names), zlib-compressed and base64-encoded.
REDUN_0_44_TREE = _blob(
    "eNqlUktu2zAUpET/7TiJk7bp5wDJRqscoIgRtICALNIuuDECSWZk1fqNSCHtQoC6sG+W8/QKfVLQ2I4atEC4IPAe"
    "yZk3Myy5l8l5Hlvye5pJpYIkHnx11PJyU4Kd/YRRwDwVfcaYptOb2IkkuDiiOnRi/yYNvGUoz88tP5NSoyVadOJk"
    "vkL74t5krOSCdvY5AJvBOP03p0mcvEDrKWdbHDc4UyqJtLMh7U5bJT+z0BMdai3v6mZ/2ikJklkYiNEf0CTVxKcw"
    "LDASY+rSTEmmH/t7npsHoQ5iNVBSDzCeYX+Fg2sc1tChjH29wOQqd5uavgRRGsptVUek6rjAqwdVt3nsPah6LXg1"
    "+nyON4vuxTejMux/8HaT2eBx0aXalzrQMtpJY/qrfFHik6b7TpDtUvRKbhuryujOtv/dR/97Tf/7BaVSXY5klGQ/"
    "MLS5+lseoyd57M0wXmH/GgfbeRzaZu7abI3J8zPQBWONvoWTxeZnvM3dAu+EUb3A+08fK1W0lFzjQwPqpH5UK78N"
    "HR+GbVytYarnBfZqQdLLdZJhKNpUuo72Fhipl30+6zf+PSAg"
)
REDUN_0_44_SHARED = _blob(
    "eNrtlMtum0AYhcH4Br47Se/t2tmwyhPYyqaWunC7mI0VAZ4ANbcDM2q6QKIL+0H7AnmFDkS1MXbUVumq6o7/n8v5"
    "z/mATLFiuuKBTu+imCaJGwbaJyNZX+9LSJffIKeoTYgqSRITqzeB4VMo5EzUnhHYN5FrrT16daXbMaUMdVIXK0Zs"
    "J2hM34vn7Eky50cykSgrOrN6plzqaJKmaK2/FM3WrJkpKSQdbdL9eWkYMaGXQE2hkb7oipnCmO36HcvkrsfcINES"
    "yjR0l+ht0F9gUFzt0cBmDoYfuLnEaOLIx84+un7k0bK3sfB2luL8wdstD6wHbxdEyQ2sVnjmNKaf5dNJHd93mNX+"
    "PoW0RG1T5jLqH8Zz/zQG42MGhhsfSrQzZS5v8rj/kEK+2ad+GH9FZ64kp6h0K1R6S/Q3GCwwLFMZzWvcnEtbjB+f"
    "QWyQt1B1PHf23RfcdHJIL1O8mjgXBzG+Fmii/2j+Chr5F2iInC9A3ULT8aYE6C036RbvqmenZgFGbCnc3nqGjd/6"
    "ImsiTnGsXsXUILXcIYTOLr7W7Pu/+QMr0r7DqIDSLgurO2GNm8nj8u1CnlqchTE6pCFK02CWg+7JV6VXGa2/xGCD"
    "4QKj8mhjMZr+A1av+cQ="
)

# Every global a redun 0.44.1 expression pickle may name (redun 0.44.1 defines them all).
REDUN_0_44_GLOBALS = {
    "redun.expression TaskExpression",
    "redun.expression SchedulerExpression",
    "redun.expression SimpleExpression",
    "redun.expression ValueExpression",
    "builtins set",
}


def chain(depth: int, start: object = 0) -> object:
    value = start
    for _ in range(depth):
        value = inc(value)
    return value


def ladder(levels: int) -> Expression:
    """Each level uses the one below through two different parents."""
    node = inc(0)
    for _ in range(levels):
        node = join(inc(node), node + 1)
    return node


def globals_named(data: bytes) -> set[str]:
    """Globals named by a protocol-3 pickle and by the pickles nested in it as bytes."""
    found: set[str] = set()
    stack = [data]
    while stack:
        for opcode, arg, _ in pickletools.genops(stack.pop()):
            if opcode.name == "GLOBAL":
                found.add(arg)
            elif isinstance(arg, bytes) and arg.startswith(b"\x80\x03"):
                stack.append(arg)
    return found


def is_flat(expr: Expression) -> bool:
    return expr.__reduce_ex__(3)[0] is not copyreg.__newobj__


def walk_chain(expr: object) -> tuple[int, object]:
    links = 0
    while isinstance(expr, TaskExpression) and expr.task_name == "lang_pickle44.inc":
        expr = expr.args[0]
        links += 1
    return links, expr


# redun 0.44.1's layout -------------------------------------------------------------


def test_shallow_expression_pickles_exactly_as_redun_0_44():
    assert build_tree().serialize() == REDUN_0_44_TREE


def test_reads_redun_0_44_pickles_with_options_nout_and_repeated_nodes():
    clone = pickle.loads(REDUN_0_44_SHARED)
    assert isinstance(clone, TaskExpression)
    assert clone.task_name == "lang_pickle44.greet"
    assert clone._options == {"executor": "batch"}
    shared, (again, plus, item) = clone.args
    assert shared is again  # one nested pickle: one object
    assert (plus.func_name, plus.args[1]) == ("add", 1)
    pair_expr = plus.args[0].args[0]
    assert (pair_expr.task_name, pair_expr._options, len(pair_expr)) == (
        "lang_pickle44.pair",
        {"memory": 3},
        2,
    )
    copied = item.args[0].args[0]  # redun 0.44.1 wrote pair(1) once per parent
    assert copied is not pair_expr and copied.get_hash() == pair_expr.get_hash()
    assert clone.get_hash() == build_shared().get_hash()
    assert pickle.loads(REDUN_0_44_TREE).get_hash() == build_tree().get_hash()
    assert clone.task.get_option("executor") == "batch"


def test_state_dicts_follow_redun_0_44_layout():
    expr = special.options(limits=["db"])(pair(2)[0] + ValueExpression([1, 2]))
    func, args, state = expr.__reduce_ex__(3)[:3]
    assert (func, args) == (copyreg.__newobj__, (SchedulerExpression,))
    assert list(state) == [
        "task_name",
        "args",
        "kwargs",
        "task_options",
        "export_options",
        "length",
    ]
    assert state["task_name"] == "lang_pickle44.special"
    assert state["task_options"] == {"limits": ["db"]}
    assert (state["export_options"], state["length"]) == (set(), None)
    assert pickle.loads(state["kwargs"]) == {}
    (simple,) = pickle.loads(state["args"])
    simple_state = simple.__reduce_ex__(3)[2]
    assert list(simple_state) == ["func_name", "args", "kwargs"]
    getitem, value = pickle.loads(simple_state["args"])
    assert value.__reduce_ex__(3)[2] == {
        "value_type": "builtins.list",
        "value": pickle.dumps([1, 2], protocol=3),
    }
    pair_state = getitem.args[0].__reduce_ex__(3)[2]
    assert (pair_state["length"], pair_state["task_options"]) == (2, {})


def test_shared_nodes_only_name_globals_redun_0_44_defines():
    for expr in (build_tree(), build_shared(), ladder(4), special(ValueExpression({1}))):
        assert not is_flat(expr)
        assert globals_named(expr.serialize()) <= REDUN_0_44_GLOBALS


def test_shared_sub_expressions_come_back_shared():
    clone = pickle.loads(build_shared().serialize())
    shared, (again, plus, item) = clone.args
    assert again is shared
    assert clone.kwargs["flag"].args[0] is shared
    assert item.args[0].args[0] is plus.args[0].args[0]
    assert clone.get_hash() == build_shared().get_hash()

    expr = ladder(6)
    clone = pickle.loads(pickle.dumps(expr))
    node = clone
    while node.task_name == "lang_pickle44.join":
        below = node.args[0].args[0]
        assert node.args[1].args[0] is below
        node = below
    assert clone.get_hash() == expr.get_hash()


# The flat table -------------------------------------------------------------------


def test_depth_decides_the_layout():
    assert not is_flat(chain(100))
    assert is_flat(chain(101))
    assert b"_rebuild_graph" in chain(101).serialize()
    assert b"_rebuild_graph" not in chain(100).serialize()
    wide = greet("Hi", [inc(i) for i in range(3_000)])
    assert not is_flat(wide)
    assert pickle.loads(wide.serialize()).get_hash() == wide.get_hash()


def test_many_copies_of_shared_nodes_use_the_flat_table():
    expr = ladder(40)  # the 0.44 layout would write 2**40 nodes
    assert is_flat(expr)
    data = expr.serialize()
    assert len(data) < 100_000
    clone = pickle.loads(data)
    assert clone.args[1].args[0] is clone.args[0].args[0]
    assert clone.get_hash() == expr.get_hash()


@pytest.mark.parametrize("depth", [3, 150])
def test_both_layouts_keep_structure_options_nout_and_hashes(depth):
    first, second = pair.options(memory=3)(7)
    bottom = special.options(limits=["db"])(join(first, second + 1))
    expr = greet.options(executor="batch")(chain(depth, bottom), flag={"k": first})
    assert is_flat(expr) == (depth > 100)

    clone = pickle.loads(expr.serialize())
    assert type(clone) is TaskExpression
    assert clone._options == {"executor": "batch"}
    links, node = walk_chain(clone.args[0])
    assert links == depth
    assert type(node) is SchedulerExpression
    assert node._options == {"limits": ["db"]}
    assert node.task.get_option("limits") == ["db"]
    joined = node.args[0]
    got_first, plus = joined.args
    assert isinstance(plus, SimpleExpression) and plus.func_name == "add"
    pair_expr = got_first.args[0]
    assert plus.args[0].args[0] is pair_expr
    assert clone.kwargs["flag"]["k"].args[0] is pair_expr
    assert (pair_expr._options, pair_expr._length) == ({"memory": 3}, 2)
    assert pair_expr.task.get_option("memory") == 3
    a, b = pair_expr
    assert b.args == (pair_expr, 1)
    assert clone.get_hash() == expr.get_hash()
    assert joined.get_hash() == join(first, second + 1).get_hash()


def test_deep_graph_hidden_in_an_opaque_argument_still_pickles():
    expr = greet("Hi", Opaque(chain(2_000)))
    assert not is_flat(expr)
    clone = pickle.loads(expr.serialize())
    assert walk_chain(clone.args[1].value) == (2_000, 0)
    assert clone.get_hash() == expr.get_hash()


class Opaque:
    """A value the expression walker does not look inside."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Opaque(...)"


def test_copies_and_failures_leave_no_state_behind():
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(greet(lambda: 1, planet()))
    with pytest.raises(pickle.UnpicklingError):
        TaskExpression.__new__(TaskExpression).__setstate__(
            {"task_name": "x", "args": b"\x80\x03broken", "kwargs": b"\x80\x03}q\x00."}
        )
    # Later pickles start afresh on both sides.
    assert build_tree().serialize() == REDUN_0_44_TREE
    expr = build_shared()
    for clone in (copy.copy(expr), copy.deepcopy(expr), pickle.loads(pickle.dumps(expr))):
        assert clone.args[1][0] is clone.args[0]
        assert clone.get_hash() == expr.get_hash()


def test_shared_nodes_of_a_hidden_graph_stay_apart_from_the_outer_ones():
    outer = planet()
    hidden_shared = inc(5)
    hidden = join(hidden_shared, hidden_shared + 1)
    expr = join(join(outer, outer + 1), Opaque(hidden))
    clone = pickle.loads(expr.serialize())
    inner = clone.args[1].value
    assert inner.args[1].args[0] is inner.args[0]
    assert inner.args[0].task_name == "lang_pickle44.inc"
    assert clone.get_hash() == expr.get_hash()
