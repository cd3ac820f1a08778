"""The ``docker`` executor: each job is a container running ``python3 -m redun oneshot``.

Containers carry the labels of their job (``redun.executor``, ``redun.eval_hash``, ...).
One thread per container blocks in ``container.wait()`` and reports the end; a new
executor (after a scheduler restart) finds a job's container still running by its
labels and waits for it instead of starting another. Images are never pulled.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redun.executors.base import ExecutorError
from redun.executors.remote import RemoteCommand, RemoteExecutor
from redun.executors.remote.base import LABEL_PREFIX
from redun_docker.options import parse_env, parse_memory, parse_number, parse_volumes

if TYPE_CHECKING:
    from redun.scheduler import Scheduler

LOG_TAIL_LINES = 40
STOP_TIMEOUT = 30.0  # seconds stop() waits for each waiting thread
CONNECTION_POOL_SIZE = 64  # one connection per waiting thread, without pool warnings


class DockerExecutor(RemoteExecutor):
    """Runs jobs as Docker containers (``[executors.NAME] type = docker``).

    Options: ``image`` (required, must be present on the engine), ``scratch``
    (required; a local scratch is mounted into each container at the same path),
    ``vcpus``, ``memory`` (GB, or e.g. ``512m``), ``gpus``, ``volumes``
    (``HOST:CONTAINER[:MODE]`` ...), ``env`` (``KEY=VALUE`` ...), ``interactive``
    (stream each container's output here), ``network`` (``host``, the default, or
    ``none``), ``docker_host`` (default: ``$DOCKER_HOST`` or the local socket), and
    the code-package options of :class:`~redun.executors.remote.RemoteExecutor`.
    """

    def __init__(
        self, name: str, scheduler: Scheduler | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(name, scheduler, config)
        self.image = str(self.config.get("image") or "")
        if not self.image:
            raise ExecutorError(
                f"executor {name}: no image; add image = NAME to [executors.{name}]"
            )
        self.vcpus = parse_number(name, "vcpus", self.config.get("vcpus"))
        self.memory = parse_memory(name, self.config.get("memory"))
        self.gpus = parse_number(name, "gpus", self.config.get("gpus"), int)
        self.volumes = parse_volumes(name, self.config.get("volumes"))
        self.env = parse_env(name, self.config.get("env"))
        self.interactive = _flag(self.config.get("interactive"))
        self.network = str(self.config.get("network") or "host")
        self.docker_host = self.config.get("docker_host") or None
        if "://" not in self.scratch:  # the containers write results where we read them
            self.volumes.setdefault(self.scratch, {"bind": self.scratch, "mode": "rw"})
        self._client: Any = None
        self._image_checked = False
        self._containers: dict[str, Any] = {}  # key -> running container we wait for
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}  # key -> its waiting thread
        self._stopped: set[str] = set()  # keys whose containers stop() removed
        self.reattached = 0

    # The engine ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Docker SDK client (connected on first use)."""
        with self._lock:
            if self._client is None:
                import docker

                try:
                    if self.docker_host:
                        self._client = docker.DockerClient(
                            base_url=self.docker_host, max_pool_size=CONNECTION_POOL_SIZE
                        )
                    else:
                        self._client = docker.from_env(max_pool_size=CONNECTION_POOL_SIZE)
                except docker.errors.DockerException as error:
                    raise ExecutorError(
                        f"executor {self.name}: cannot reach the Docker engine "
                        f"({self.docker_host or 'DOCKER_HOST or the local socket'}): {error}; "
                        "start dockerd or set docker_host"
                    ) from None
            return self._client

    def check_image(self) -> None:
        """Fail with one clear message when the image is not on the engine (never pull)."""
        if self._image_checked:
            return
        import docker

        try:
            self.client.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise ExecutorError(
                f"executor {self.name}: image {self.image!r} is not on the Docker engine and "
                "redun never pulls images; get it first (docker load -i FILE, docker import, "
                f"docker build -t {self.image} ., or docker pull {self.image})"
            ) from None
        self._image_checked = True

    # Running commands ----------------------------------------------------------------------
    def launch(self, command: RemoteCommand) -> None:
        self.check_image()
        container = self._find_running(command)
        if container is not None:
            self.reattached += 1
        else:
            container = self.client.containers.run(
                self.image,
                command.command,
                detach=True,
                labels={**command.labels, f"{LABEL_PREFIX}key": command.key},
                network_mode=self.network,
                volumes=self.volumes or None,
                environment={**self.env, **command.env} or None,
                working_dir=None,
                **self._resources(),
            )
        thread = threading.Thread(
            target=self._wait,
            args=(command, container),
            name=f"redun-{self.name}-{command.key[:8]}",
            daemon=True,
        )
        with self._lock:
            self._containers[command.key] = container
            self._threads[command.key] = thread
        thread.start()

    def _resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        if self.vcpus:
            resources["nano_cpus"] = int(self.vcpus * 1e9)
        if self.memory:
            resources["mem_limit"] = self.memory
        if self.gpus:
            from docker.types import DeviceRequest

            resources["device_requests"] = [DeviceRequest(count=self.gpus, capabilities=[["gpu"]])]
        return resources

    def _find_running(self, command: RemoteCommand) -> Any:
        """This executor's container still running ``command`` (from before a restart)."""
        found = self.client.containers.list(
            filters={
                "status": "running",
                "label": [
                    f"{LABEL_PREFIX}executor={self.name}",
                    f"{LABEL_PREFIX}key={command.key}",
                ],
            }
        )
        return found[0] if found else None

    def _wait(self, command: RemoteCommand, container: Any) -> None:
        """Block until the container ends, then report its status and the end of its output."""
        import docker

        status: int | None = None
        logs = ""
        try:
            if self.interactive:
                for chunk in container.logs(stream=True, follow=True):
                    sys.stderr.write(chunk.decode("utf-8", "replace"))
            status = int(container.wait().get("StatusCode", -1))
            logs = container.logs(tail=LOG_TAIL_LINES).decode("utf-8", "replace")
            container.remove(force=True)
        except docker.errors.NotFound:  # removed by someone else (or by stop())
            pass
        except docker.errors.DockerException as error:
            logs = f"lost the container: {error}"
        with self._lock:
            self._containers.pop(command.key, None)
            self._threads.pop(command.key, None)
            if command.key in self._stopped:
                self._stopped.discard(command.key)
                return
        command.on_exit(status, logs)

    def stop(self) -> None:
        """Kill and remove the containers this executor started or reattached to; return when
        their waiting threads have ended (their jobs are not reported)."""
        import docker

        with self._lock:
            self._stopped.update(self._containers)
            containers = list(self._containers.values())
            threads = list(self._threads.values())
        for container in containers:
            try:
                container.remove(force=True)
            except docker.errors.DockerException:
                pass
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=STOP_TIMEOUT)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
