"""A remote executor for tests: each job's ``redun oneshot`` runs as a local subprocess.

It exercises the whole remote-job protocol (code package, scratch files, oneshot) without
any engine; a thread blocked in ``Popen.wait`` reports each command's end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

from redun.executors.remote import RemoteCommand, RemoteExecutor


class SubprocessExecutor(RemoteExecutor):
    """Runs remote commands as subprocesses of this process (``python`` defaults to ours)."""

    def __init__(self, name: str, scheduler: Any = None, config: Any = None) -> None:
        config = {"python": sys.executable, **dict(config or {})}
        super().__init__(name, scheduler, config)
        self.commands: list[list[str]] = []
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def launch(self, command: RemoteCommand) -> None:
        self.commands.append(command.command)
        proc = subprocess.Popen(
            command.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **command.env},
        )
        with self._lock:
            self._procs[command.key] = proc
        threading.Thread(target=self._wait, args=(command, proc), daemon=True).start()

    def _wait(self, command: RemoteCommand, proc: subprocess.Popen) -> None:
        output, _ = proc.communicate()
        with self._lock:
            self._procs.pop(command.key, None)
        command.on_exit(proc.returncode, output.decode("utf-8", "replace")[-4000:])

    def stop(self) -> None:
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            proc.kill()
