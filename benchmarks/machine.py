"""Describe the machine and the engines a benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_ram() -> int:
    """Total RAM in bytes (0 when unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def engine_python(redun: str) -> str:
    """The Python version of the virtualenv holding the `redun` script."""
    python = Path(redun).parent / "python"
    if not python.exists():
        return "unknown"
    done = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def engine_version(redun: str) -> str:
    """What `redun --version` prints (last line), or the error."""
    done = subprocess.run([redun, "--version"], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1].strip() if lines else "unknown"


def describe(engines: dict[str, str]) -> dict[str, object]:
    """Machine facts plus, per engine label, its executable, version and Python."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "ram_bytes": total_ram(),
        "platform": platform.platform(),
        "harness_python": platform.python_version(),
        "engines": {
            label: {
                "redun": redun,
                "version": engine_version(redun),
                "python": engine_python(redun),
            }
            for label, redun in engines.items()
        },
    }
