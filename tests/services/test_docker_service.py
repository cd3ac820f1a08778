"""The Docker test fixtures: our own engine with no bridge, a registry-free Python image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import redun
from tests.services.docker import ContainerPythonEnv, DockerEngine, apt_mirror

EXTERNAL = bool(os.environ.get("REDUN_TEST_DOCKER_HOST"))


def test_engine_answers_on_its_socket(docker_engine: DockerEngine) -> None:
    assert docker_engine.client.ping() is True
    assert docker_engine.host == f"unix://{docker_engine.socket}"
    assert docker_engine.socket.is_socket()


@pytest.mark.skipif(EXTERNAL, reason="an external daemon's networks are its own")
def test_engine_has_no_bridge_network(docker_engine: DockerEngine) -> None:
    drivers = {net.name: net.attrs["Driver"] for net in docker_engine.client.networks.list()}
    assert drivers == {"host": "host", "none": "null"}


def test_image_runs_python_without_network(docker_engine: DockerEngine, python_image: str) -> None:
    script = "import os, sys; print(sys.executable, sorted(os.listdir('/sys/class/net')))"
    output = docker_engine.client.containers.run(
        python_image, ["python3", "-c", script], network_mode="none", remove=True
    )
    assert output.decode().split() == ["/usr/bin/python3", "['lo']"]


def test_redun_imports_in_container(
    docker_engine: DockerEngine, python_image: str, container_python_env: ContainerPythonEnv
) -> None:
    output = docker_engine.client.containers.run(
        python_image,
        ["python3", "-c", "import redun, sys; print(redun.__version__, redun.__file__)"],
        volumes=container_python_env.volumes,
        environment=container_python_env.environment,
        network_mode="none",
        remove=True,
    )
    assert output.decode().split() == [redun.__version__, redun.__file__]


def test_container_writes_bind_mount_as_given_user(
    docker_engine: DockerEngine, python_image: str, tmp_path: Path
) -> None:
    user = f"{os.getuid() + 1000}:{os.getgid() + 1000}"
    tmp_path.chmod(0o777)
    docker_engine.client.containers.run(
        python_image,
        ["python3", "-c", "open('/out/result', 'w').write('done')"],
        volumes={str(tmp_path): {"bind": "/out", "mode": "rw"}},
        user=user,
        network_mode="none",
        remove=True,
    )
    written = tmp_path / "result"
    assert written.read_text() == "done"
    assert f"{written.stat().st_uid}:{written.stat().st_gid}" == user


def test_apt_mirror_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.invalid/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb deb-src\nURIs: http://mirror.invalid/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert apt_mirror("bookworm", tmp_path) == "http://mirror.invalid/debian"
    assert apt_mirror("trixie", tmp_path) is None


def test_apt_mirror_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://old.invalid/debian bookworm main\n"
        "deb http://mirror.invalid/debian-security bookworm-security main\n"
        "deb [ arch=amd64 trusted=yes signed-by=/k.gpg ]"
        " http://mirror.invalid/debian bookworm main\n"
    )
    assert apt_mirror("bookworm", tmp_path) == "http://mirror.invalid/debian"
