"""Run one command as a whole process and measure its wall time and peak RSS."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProcessResult:
    """What one process did: exit code, wall time, peak RSS and the tail of its output."""

    command: list[str]
    returncode: int
    seconds: float
    peak_rss: int
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the process exited with status 0 in time."""
        return self.returncode == 0 and not self.timed_out

    def last_stdout_line(self) -> str:
        """The last non-empty line of stdout (where `redun run` prints the result)."""
        return _last_line(self.stdout)

    def error_line(self) -> str:
        """The last non-empty line of stderr, else of stdout: the error's message."""
        return _last_line(self.stderr) or _last_line(self.stdout)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_process(
    command: list[str],
    cwd: Path,
    output_dir: Path,
    timeout: float,
    env: dict[str, str] | None = None,
) -> ProcessResult:
    """Run `command` in `cwd` to completion, killing its process group after `timeout` s.

    stdout and stderr go to files in `output_dir` (so a large output never blocks the
    child). Peak RSS comes from `wait4` on this very child, so it covers the process
    and the children it waited for, independent of other runs.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = output_dir / "stdout.txt", output_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    timed_out = proc.returncode == -signal.SIGKILL and seconds >= timeout
    return ProcessResult(
        command=command,
        returncode=proc.returncode,
        seconds=seconds,
        peak_rss=usage.ru_maxrss * 1024,
        timed_out=timed_out,
        stdout=_tail(out_path),
        stderr=_tail(err_path),
    )


def _tail(path: Path, size: int = 64 * 1024) -> str:
    """The last `size` bytes of a file as text (enough for the result or the error)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode(errors="replace")
