"""How values nest: the kinds nested.kind_of tells apart, and the validity walk over them."""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict, namedtuple
from pathlib import Path

from redun import File, nested
from redun.values import are_values_valid, get_subvalues

Pair = namedtuple("Pair", ["left", "right"])


@dataclasses.dataclass(frozen=True)
class Holder:
    item: object


class MyList(list):
    """A list subclass: not walked (as redun 0.4x), only lists and tuples themselves."""


def test_kind_of_tells_containers_from_leaves() -> None:
    assert nested.kind_of(int) == nested.LEAF
    assert nested.kind_of(str) == nested.LEAF
    for cls in (list, tuple, set, frozenset, Pair):
        assert nested.kind_of(cls) == nested.SEQUENCE, cls
    assert nested.kind_of(dict) == nested.MAPPING
    assert nested.kind_of(OrderedDict) == nested.MAPPING
    assert nested.kind_of(Holder) == nested.DATACLASS
    assert nested.kind_of(MyList) == nested.OTHER
    assert nested.kind_of(type) == nested.OTHER  # a class (even a dataclass) is not walked
    assert nested.children(Holder) is None
    assert list(nested.children(Holder(3))) == [3]
    assert list(nested.children(OrderedDict(a=1))) == [1]


def test_validity_walk_reaches_files_in_every_kind_of_container(tmp_path: Path) -> None:
    files = []
    for name in "abcde":
        file = File(str(tmp_path / f"{name}.txt"))
        file.write(name)
        file.get_hash()  # the hash a cached value would carry
        files.append(file)
    a, b, c, d, e = files
    values = [Pair(a, 1), Holder(b), {c: "key"}, OrderedDict(x=[d]), frozenset([e])]
    assert are_values_valid(values) == [True] * 5
    assert set(map(id, get_subvalues(values))) == set(map(id, files))

    for file in (a, c, e):
        os.utime(file.path, (1, 1))
    assert are_values_valid(values) == [False, True, False, True, False]
