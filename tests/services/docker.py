"""A Docker engine and a Python image for the tests, with no registry and no bridge network.

``docker_engine`` starts Debian's ``dockerd`` (docker.io) as root with ``--bridge=none
--iptables=false --ip-masq=false``: containers get host networking or none. Its data root
is kept under ``~/.cache/redun-tests/docker`` so the image survives between runs; its socket
and exec root are fresh each session. ``python_image`` is a ``debootstrap --variant=minbase
--include=python3`` of this machine's release, from the mirror in its own apt sources,
imported with ``docker import``; the root filesystem tarball is cached next to the data root.
``container_python_env`` mounts this test environment's packages into a container.

With CI=true a missing dockerd or debootstrap is a failure; elsewhere these tests skip.
``REDUN_TEST_DOCKER_HOST`` (a ``unix://`` address) points the tests at a running daemon.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.services.common import missing

IMAGE_REPOSITORY = "redun-test-python"
START_TIMEOUT = 60.0
SLOTS = 4
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class DockerEngine:
    """A running Docker daemon: an SDK client and its ``unix://`` address."""

    client: Any  # docker.DockerClient
    host: str
    socket: Path


@dataclass(frozen=True)
class ContainerPythonEnv:
    """Read-only mounts (and environment) that make this environment's packages importable."""

    volumes: dict[str, dict[str, str]]  # Docker SDK form: {host: {"bind": path, "mode": "ro"}}
    pairs: list[tuple[str, str]]  # (host, container) pairs, as the executor's `volumes` option
    environment: dict[str, str] = field(default_factory=dict)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/redun-tests`` (``~/.cache/redun-tests``): kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "redun-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _find_tool(name: str) -> str | None:
    found = shutil.which(name)
    for folder in ("/usr/sbin", "/usr/bin", "/sbin"):
        if found is None and os.access(f"{folder}/{name}", os.X_OK):
            found = f"{folder}/{name}"
    return found


def _connect(host: str) -> Any:
    import docker

    return docker.DockerClient(base_url=host, version="auto", timeout=120)


def _lock(path: Path) -> int | None:
    """An exclusive flock on ``path`` (released when the process dies), or None if held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _stop_stale_daemon(pidfile: Path, data_root: Path) -> None:
    """Stop a dockerd a killed session left running on ``data_root`` and drop its pidfile."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pidfile.unlink(missing_ok=True)
        return
    ours = f"--data-root={data_root}".encode()
    if Path(cmdline[0].decode()).name == "dockerd" and ours in cmdline:
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            # A dockerd we did not start is not our child: wait on /proc, not waitpid.
            deadline = time.monotonic() + 30
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
    pidfile.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when pytest dies, so no daemon is left behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for_ping(host: str, process: subprocess.Popen, log: Path) -> Any:
    """Poll the new daemon until it answers (start-up only), failing fast if it exits."""
    deadline = time.monotonic() + START_TIMEOUT
    delay = 0.05
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            return _connect(host)  # asks the daemon its API version
        except Exception as error:  # the socket is not there or not answering yet
            last = error
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    pytest.fail(f"dockerd did not start ({last or 'exited'}); its log ends:\n{tail}")


def _start_dockerd(
    dockerd: str, data_root: Path, pidfile: Path, run_dir: Path
) -> tuple[subprocess.Popen, str, Path, Any]:
    """Start dockerd on a socket in ``run_dir``; return it, its address and a client."""
    socket = run_dir / "docker.sock"
    config = run_dir / "daemon.json"
    config.write_text("{}")  # never the machine's /etc/docker/daemon.json
    log = run_dir / "dockerd.log"
    command = [
        dockerd,
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        f"--config-file={config}",
        f"--data-root={data_root}",
        f"--exec-root={run_dir / 'exec'}",
        f"--pidfile={pidfile}",
        f"--host=unix://{socket}",
        "--containerd-namespace=redun-tests",
        "--containerd-plugins-namespace=redun-tests-plugins",
        "--log-level=warn",
    ]
    driver = os.environ.get("REDUN_TEST_DOCKER_STORAGE_DRIVER")
    if driver:
        command.append(f"--storage-driver={driver}")
    env = {**os.environ, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin:/bin"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,
        )
    host = f"unix://{socket}"
    return process, host, socket, _wait_for_ping(host, process, log)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A Docker daemon of our own (no bridge network), stopped at the end of the session."""
    try:
        import docker  # noqa: F401
    except ImportError:
        missing("Docker", "the Docker SDK is not installed (pip install docker)")
    existing = os.environ.get("REDUN_TEST_DOCKER_HOST")
    if existing:
        if not existing.startswith("unix://"):
            pytest.fail(f"REDUN_TEST_DOCKER_HOST={existing!r}: use a unix:// socket address")
        client = _connect(existing)
        yield DockerEngine(client, existing, Path(existing.removeprefix("unix://")))
        client.close()
        return
    dockerd = _find_tool("dockerd")
    if dockerd is None:
        missing("Docker", "no dockerd (install Debian's docker.io package)")
    assert dockerd is not None
    if os.geteuid() != 0:
        missing("Docker", "dockerd needs root")
    base = cache_dir() / "docker"
    base.mkdir(exist_ok=True)
    # One kept data root per concurrent session (a slot), so each keeps its imported image.
    for slot in range(SLOTS):
        lock = _lock(base / f"slot-{slot}.lock")
        if lock is not None:
            break
    else:
        pytest.fail(f"all {SLOTS} Docker test slots in {base} are in use by other sessions")
    data_root = base / ("data" if slot == 0 else f"data-{slot}")
    pidfile = base / f"dockerd-{slot}.pid"
    _stop_stale_daemon(pidfile, data_root)
    # Socket paths are limited to ~100 bytes: keep the run directory short. A killed
    # session's is removed here.
    run_dir = Path(f"/tmp/redun-dockerd-{slot}")
    _remove_tree(run_dir)
    run_dir.mkdir(mode=0o700)
    process, host, socket, client = _start_dockerd(dockerd, data_root, pidfile, run_dir)
    try:
        client.containers.prune()  # stopped leftovers of killed sessions
        yield DockerEngine(client, host, socket)
    finally:
        client.close()
        _stop(process)
        pidfile.unlink(missing_ok=True)
        _remove_tree(run_dir)
        os.close(lock)


def os_release() -> dict[str, str]:
    """Fields of /etc/os-release."""
    fields: dict[str, str] = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip()] = value.strip().strip('"')
    return fields


def apt_mirror(codename: str, etc: Path = Path("/etc/apt")) -> str | None:
    """The URI this machine's apt sources use for ``codename`` (deb822 or one-line format)."""
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                name, sep, value = line.partition(":")
                if sep and not line.startswith(("#", " ", "\t")):
                    fields[name.strip().lower()] = value.strip()
            if (
                "deb" in fields.get("types", "").split()
                and codename in fields.get("suites", "").split()
            ):
                uris = fields.get("uris", "").split()
                if uris:
                    return uris[0]
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in lists:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            text = line.split("#", 1)[0]
            if "[" in text:  # drop the [option=value ...] block
                text = text[: text.index("[")] + text[text.index("]") + 1 :]
            words = text.split()
            if words[:1] == ["deb"]:
                words = words[1:]
                if len(words) >= 2 and words[1] == codename:
                    return words[0]
    return None


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _remove_tree(path: Path) -> None:
    """Delete a tree (a debootstrap target, a run directory), unmounting what it holds first."""
    for point in sorted(_mounts_under(path), reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    if _mounts_under(path):
        pytest.fail(f"{path} still has mounts: unmount them, then delete it")
    shutil.rmtree(path, ignore_errors=True)


def _build_rootfs(tarball: Path, codename: str, mirror: str) -> None:
    """debootstrap a minimal root filesystem with python3 and write it as a tar file."""
    debootstrap = _find_tool("debootstrap")
    if debootstrap is None:
        missing("Docker", "no debootstrap (install Debian's debootstrap package)")
    assert debootstrap is not None
    target = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    try:
        done = subprocess.run(
            [debootstrap, "--variant=minbase", "--include=python3", codename, str(target),
             mirror],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            pytest.fail(f"debootstrap of {codename} from {mirror} failed:\n{tail}")
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (target / leftovers).glob("*"):
                if item.is_file():
                    item.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(target), "-cf", str(partial), "."], check=True
        )
        partial.rename(tarball)
    finally:
        _remove_tree(target)


@pytest.fixture(scope="session")
def python_image(docker_engine: DockerEngine) -> str:
    """Name of a local image of this machine's release with python3 at /usr/bin/python3."""
    import docker

    release = os_release()
    codename = release.get("VERSION_CODENAME")
    if not codename:
        missing("Docker", "/etc/os-release names no VERSION_CODENAME to debootstrap")
    name = f"{IMAGE_REPOSITORY}:{codename}"
    client = docker_engine.client
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(name)
        return name
    tarball = cache_dir() / f"rootfs-{release.get('ID', 'linux')}-{codename}-python3.tar"
    lock = os.open(tarball.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building it
        if not tarball.exists():
            if os.geteuid() != 0:
                missing("Docker", "debootstrap needs root")
            mirror = apt_mirror(codename)
            if mirror is None:
                missing("Docker", f"no apt source for {codename} in /etc/apt to debootstrap from")
            assert mirror is not None
            _build_rootfs(tarball, codename, mirror)
    finally:
        os.close(lock)
    client.api.import_image_from_file(
        str(tarball),
        repository=IMAGE_REPOSITORY,
        tag=codename,
        changes=["ENV LANG=C.UTF-8", 'CMD ["/usr/bin/python3"]'],
    )
    client.images.get(name)
    return name


def _pth_dirs(site_packages: Path) -> list[str]:
    """Absolute directories that .pth files add to sys.path (editable installs)."""
    dirs: list[str] = []
    for pth in sorted(site_packages.glob("*.pth")):
        for line in pth.read_text().splitlines():
            line = line.strip()
            if line.startswith("/") and Path(line).is_dir() and line not in dirs:
                dirs.append(line)
    return dirs


@pytest.fixture(scope="session")
def container_python_env(docker_engine: DockerEngine, python_image: str) -> ContainerPythonEnv:
    """Mounts that let ``python3 -m redun ...`` in ``python_image`` import this environment.

    The environment's site-packages becomes the image's ``/usr/local/lib/python3.X/
    dist-packages`` (a site directory on Debian, so .pth files apply) and every directory an
    editable install's .pth names is mounted at its own path. All mounts are read-only.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    image_version = docker_engine.client.containers.run(
        python_image,
        ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        network_mode="none",
        remove=True,
    )
    if image_version.decode().strip() != version:
        missing(
            "Docker",
            f"{python_image} has Python {image_version.decode().strip()}, the tests run "
            f"{version}: its site-packages cannot be mounted into it",
        )
    site_packages = Path(sysconfig.get_paths()["purelib"])
    pairs = [(str(site_packages), f"/usr/local/lib/python{version}/dist-packages")]
    pairs += [(path, path) for path in _pth_dirs(site_packages)]
    volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in pairs}
    return ContainerPythonEnv(
        volumes=volumes, pairs=pairs, environment={"PYTHONDONTWRITEBYTECODE": "1"}
    )
