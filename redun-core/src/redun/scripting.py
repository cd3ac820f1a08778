"""Script tasks: a task whose body returns a shell script; the result is its stdout."""

from __future__ import annotations

import os
import subprocess
import tempfile
import textwrap

DEFAULT_SHELL = "#!/usr/bin/env bash\nset -exo pipefail"


class ScriptError(Exception):
    """A script exited with a non-zero status."""


def prepare_script(command: str) -> str:
    """Dedent ``command`` and give it the default prelude unless it names its own ``#!``."""
    command = textwrap.dedent(command).strip()
    if command.startswith("#!"):
        return command + "\n"
    return f"{DEFAULT_SHELL}\n{command}\n"


def run_script(command: str, cwd: str | None = None) -> bytes:
    """Run a script and return its stdout (bytes); raise ScriptError on failure."""
    if not isinstance(command, str):
        raise TypeError(
            f"a script task must return the script as a str, not {type(command).__name__}"
        )
    fd, path = tempfile.mkstemp(prefix="redun-script-", suffix=".sh")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(prepare_script(command))
        os.chmod(path, 0o700)
        proc = subprocess.run([path], cwd=cwd, capture_output=True)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = "\n".join(stderr[-20:])
        raise ScriptError(f"script exited with status {proc.returncode}:\n{tail}")
    return proc.stdout
