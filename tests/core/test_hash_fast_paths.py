"""The hashing fast paths encode exactly what the general bencode encoder would."""

from __future__ import annotations

import random

import pytest

from redun.hashing import hash_arguments, hash_call_expression, hash_struct


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


KEYS = ["x", "b", "a", "é", "key_1", "Z", "ab", "a_b"]


@pytest.mark.parametrize("seed", range(20))
def test_call_expression_and_argument_hashes_match_hash_struct(seed: int) -> None:
    rng = random.Random(seed)
    args = [_hex(rng) for _ in range(rng.randrange(4))]
    kwargs = {k: _hex(rng) for k in rng.sample(KEYS, rng.randrange(4))}
    options = {k: _hex(rng) for k in rng.sample(KEYS, rng.randrange(3))}
    if seed % 5 == 0:  # not a 40-hex hash: the general encoder takes over
        kwargs["odd"] = "short"
        args.append("also-not-a-hash")
    expected = hash_struct(["TaskExpression", "ns.task_é", args, kwargs, options])
    assert hash_call_expression("TaskExpression", "ns.task_é", args, kwargs, options) == expected
    assert hash_arguments(args, kwargs) == hash_struct(["TaskArguments", args, kwargs])
