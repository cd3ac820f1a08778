"""The module the ``redun`` entry point names: registers the ``docker`` executor type."""

from __future__ import annotations

from collections.abc import Callable

from redun import hookimpl


@hookimpl
def register_executors(register: Callable[[str, type], None]) -> None:
    from redun_docker.executor import DockerExecutor

    register("docker", DockerExecutor)
