"""The docker executor's options: parsed into Docker SDK arguments, bad ones named."""

from __future__ import annotations

import pytest
from redun_docker import DockerExecutor

from redun.executors.base import ExecutorError
from redun.plugins import get_executor_classes


def test_registered_through_the_entry_point() -> None:
    assert get_executor_classes()["docker"] is DockerExecutor


def test_options_become_sdk_arguments(tmp_path) -> None:
    executor = DockerExecutor(
        "dock",
        config={
            "image": "img",
            "scratch": str(tmp_path),
            "vcpus": "1.5",
            "memory": "2",
            "volumes": "/data:/in:ro, /out",
            "env": "A=1 B=x=y",
            "network": "none",
            "interactive": "true",
        },
    )
    assert executor._resources() == {"nano_cpus": 1_500_000_000, "mem_limit": "2048m"}
    assert executor.volumes == {
        "/data": {"bind": "/in", "mode": "ro"},
        "/out": {"bind": "/out", "mode": "rw"},
        str(tmp_path): {"bind": str(tmp_path), "mode": "rw"},  # a local scratch is mounted
    }
    assert executor.env == {"A": "1", "B": "x=y"}
    assert (executor.network, executor.interactive) == ("none", True)
    assert DockerExecutor("d", config={"image": "i", "scratch": "s3://b/x"}).network == "host"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scratch": "/s"}, "executor dock: no image; add image = NAME to [executors.dock]"),
        ({"image": "i"}, "executor dock: no scratch; add scratch = PATH_OR_URL"),
        ({"image": "i", "scratch": "/s", "memory": "lots"}, "memory 'lots' is not a size"),
        ({"image": "i", "scratch": "/s", "vcpus": "-1"}, "vcpus must not be negative"),
        ({"image": "i", "scratch": "/s", "volumes": "a:b:c:d"}, "is not HOST:CONTAINER[:MODE]"),
        ({"image": "i", "scratch": "/s", "env": "NOVALUE"}, "env item 'NOVALUE' is not KEY"),
    ],
)
def test_bad_options_are_named(options: dict, message: str) -> None:
    with pytest.raises(ExecutorError) as raised:
        DockerExecutor("dock", config=options)
    assert message in str(raised.value)
