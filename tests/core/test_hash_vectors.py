"""Every hash must match what redun 0.44.1 computes (compat/hash_vectors.json)."""

from __future__ import annotations

import ast
import os
import sys

import pytest

from redun.file import ContentFile, File, IFile
from redun.hashing import hash_call_node, hash_eval, hash_struct
from redun.values import get_value_hash


def test_hash_struct(hash_vectors):
    for case in hash_vectors["hash_struct"]:
        assert hash_struct(ast.literal_eval(case["struct"])) == case["hash"], case


def test_value_hash(hash_vectors):
    for case in hash_vectors["value_hash"]:
        assert get_value_hash(ast.literal_eval(case["value"])) == case["hash"], case


def test_bool_is_rejected_by_bencode():
    with pytest.raises(TypeError):
        hash_struct([True])


@pytest.fixture
def vector_tasks(hash_vectors, tmp_path, monkeypatch):
    (tmp_path / "vectors_tasks.py").write_text(hash_vectors["source_module"])
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("vectors_tasks", None)
    import vectors_tasks

    yield vectors_tasks
    sys.modules.pop("vectors_tasks", None)


def test_task_hash(hash_vectors, vector_tasks):
    from redun import get_task_registry

    registry = get_task_registry()
    for fullname, expected in hash_vectors["task_hash"].items():
        assert registry.get_or_raise(fullname).hash == expected, fullname


def test_args_and_eval_hash(hash_vectors, vector_tasks):
    for case in hash_vectors["args_hash"]:
        args = ast.literal_eval(case["args"])
        kwargs = ast.literal_eval(case["kwargs"])
        assert vector_tasks.add.args_hash(args, kwargs) == case["hash"], case
    for case in hash_vectors["eval_hash"]:
        from redun import get_task_registry

        task = get_task_registry().get_or_raise(case["task"])
        args_hash = task.args_hash(ast.literal_eval(case["args"]), ast.literal_eval(case["kwargs"]))
        assert args_hash == case["args_hash"]
        assert hash_eval(task.hash, args_hash) == case["eval_hash"]


def test_call_hash(hash_vectors):
    for case in hash_vectors["call_hash"]:
        got = hash_call_node(
            case["task_hash"], case["args_hash"], case["result_hash"], case["child_call_hashes"]
        )
        assert got == case["hash"]


def test_file_hashes(hash_vectors, tmp_path, monkeypatch):
    vec = hash_vectors["file_hash"]
    monkeypatch.chdir(tmp_path)
    path = vec["path"]
    with open(path, "w") as out:
        out.write(vec["content"])
    os.utime(path, (vec["mtime"], vec["mtime"]))
    assert File(path).hash == vec["File"]
    assert IFile(path).hash == vec["IFile"]
    assert ContentFile(path).hash == vec["ContentFile"]
    assert File("none.txt").hash == vec['missing File("none.txt")']


def test_fast_hash_paths_equal_the_general_encoding():
    from redun.hashing import hash_argument, hash_arguments

    a, b, c = "a" * 40, "b" * 40, "c" * 40
    assert hash_eval(a, b) == hash_struct(["Eval", a, b])
    assert hash_arguments([a, b], {}) == hash_struct(["TaskArguments", [a, b], {}])
    assert hash_arguments([], {"k": a}) == hash_struct(["TaskArguments", [], {"k": a}])
    assert hash_call_node(a, b, c, [b, a]) == hash_struct(["CallNode", a, b, c, [a, b]])
    assert hash_call_node(a, b, c, []) == hash_struct(["CallNode", a, b, c, []])
    for position, key in ((0, None), (12, None), (None, "greet"), (None, "ünïcode")):
        assert hash_argument(a, position, key, b) == hash_struct(
            ["Argument", a, str(position), str(key), b]
        )
