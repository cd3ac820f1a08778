"""Fixtures for the docker executor's tests: executor options on the test engine."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def docker_options(docker_engine, python_image, container_python_env, tmp_path: Path) -> dict:
    """``[executors.docker]`` for the test engine: the test image, this environment's packages
    mounted in, ``tmp_path`` mounted at its own path (staged files), scratch inside it."""
    volumes = [f"{host}:{inside}:ro" for host, inside in container_python_env.pairs]
    volumes.append(f"{tmp_path}:{tmp_path}:rw")
    env = [f"{key}={value}" for key, value in container_python_env.environment.items()]
    return {
        "type": "docker",
        "image": python_image,
        "scratch": str(tmp_path / "scratch"),
        "docker_host": docker_engine.host,
        "volumes": " ".join(volumes),
        "env": " ".join(env),
    }


@pytest.fixture
def workflow_dir(tmp_path: Path, monkeypatch) -> Path:
    """``tmp_path`` as the working directory (the code package is made from it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def write_workflow(workflow_dir: Path, write_module):
    """Write a workflow module into the working directory and import it afresh."""
    return write_module


@pytest.fixture
def containers(docker_engine):
    """``containers(**labels)``: the containers (running or not) carrying all ``labels``."""

    def find(**labels: str) -> list:
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
        return docker_engine.client.containers.list(all=True, filters=filters)

    return find
