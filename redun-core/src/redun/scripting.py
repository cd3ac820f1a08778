"""Scripts: ``@task(script=True)`` bodies and ``script()`` with file staging.

A script is dedented; a first line ``#!...`` names its interpreter, otherwise it
runs under bash (or sh where bash is missing) after ``set -exo pipefail``. Its
result is its stdout (bytes, as in redun 0.4x). ``script()`` runs as two
built-in tasks: ``redun.script`` records the call, and ``redun.script_task``
(which takes the task options, e.g. ``executor``) stages inputs in, runs the
script and stages outputs out, where the script ran.
"""

from __future__ import annotations

import os
import shlex
import sys
import textwrap
from typing import Any

from redun import nested
from redun.expression import TaskExpression
from redun.staging import StagingDir, StagingError, StagingFile
from redun.task import task

DEFAULT_SHELL = "#!/usr/bin/env bash\nset -exo pipefail"
# For sh without bash: pipefail only where this sh knows it.
_SH_PRELUDE = "set -ex\nif (set -o pipefail) 2>/dev/null; then set -o pipefail; fi"
STDERR_TAIL_LINES = 20
_STDERR_TAIL_BYTES = 16384
_STDERR_HEADER = "; its stderr ends with:"


class ScriptError(Exception):
    """A script failed: it exited non-zero, could not start, or left out a staged output."""

    def __repr__(self) -> str:
        first_line = str(self).split("\n", 1)[0].removesuffix(_STDERR_HEADER)
        return f"ScriptError({first_line!r})"


# Running one script ------------------------------------------------------------------------


def prepare_script(command: str) -> tuple[list[str], str]:
    """The interpreter command line and the text of a script to run.

    ``command`` is dedented; a ``#!`` first line picks the interpreter, otherwise
    the default shell prelude is added.
    """
    text = textwrap.dedent(command).strip() + "\n"
    if text.startswith("#!"):
        first_line = text.split("\n", 1)[0]
        return shlex.split(first_line[2:]), text
    import shutil  # (here, as tempfile: it imports bz2 and lzma, a cost to every start)

    bash = shutil.which("bash")
    if bash:
        return [bash], f"{DEFAULT_SHELL}\n{text}"
    return ["sh"], f"#!/bin/sh\n{_SH_PRELUDE}\n{text}"


def run_script(command: str, cwd: str | None = None, who: str = "script") -> bytes:
    """Run a script and return its stdout; on failure raise ScriptError starting with ``who``
    (e.g. ``task ns.name``), the exit status and the end of the script's stderr."""
    if not isinstance(command, str):
        raise TypeError(
            f"{who}: a script task must return its script as a str, not {type(command).__name__}"
        )
    import subprocess  # only processes that run scripts need it
    import tempfile

    interpreter, text = prepare_script(command)
    if not interpreter:
        raise ScriptError(f"{who}: the script's '#!' line names no interpreter")
    fd, path = tempfile.mkstemp(prefix="redun-script-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        with tempfile.TemporaryFile() as stderr:
            try:
                proc = subprocess.run(
                    [*interpreter, path],
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
            except OSError as error:
                raise ScriptError(
                    f"{who}: cannot start the script's interpreter {interpreter[0]!r} "
                    f"({error.strerror or error}); check its '#!' line"
                ) from None
            if proc.returncode != 0:
                raise ScriptError(_failure_message(who, proc.returncode, _tail(stderr)))
    finally:
        os.unlink(path)
    return proc.stdout


def _tail(stream: Any) -> list[str]:
    """The last lines of a (temporary) file, read without loading all of it."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - _STDERR_TAIL_BYTES))
    lines = stream.read().decode("utf-8", "replace").splitlines()
    if size > _STDERR_TAIL_BYTES:
        lines = lines[1:]  # the first line read is probably cut
    return [line for line in lines if line.strip()][-STDERR_TAIL_LINES:]


def _failure_message(who: str, returncode: int, stderr_tail: list[str]) -> str:
    if returncode < 0:
        status = f"was killed by signal {-returncode}"
    else:
        status = f"exited with status {returncode}"
        if returncode == 127:
            status += " (command not found)"
    if not stderr_tail:
        return f"{who}: script {status} (nothing on stderr)"
    # "| " keeps the lines apart when the message is shown on one line.
    lines = "\n".join(f"  | {line}" for line in stderr_tail)
    return f"{who}: script {status}{_STDERR_HEADER}\n{lines}"


# script() ----------------------------------------------------------------------------------


def _is_staging(value: Any) -> bool:
    return isinstance(value, (StagingFile, StagingDir))


def script(
    command: str | list[str],
    inputs: Any = None,
    outputs: Any = None,
    tempdir: bool = False,
    **task_options: Any,
) -> TaskExpression:
    """Run a shell script with staged files; call it in a task and return the result.

    Every StagingFile/StagingDir in ``inputs`` (nested anywhere) is copied from
    remote to local before the script runs, and every one in ``outputs`` from local
    to remote after it. The result has the shape of ``outputs`` with each staging
    pair replaced by its remote File or Dir; with no ``outputs`` it is the script's
    stdout. ``tempdir=True`` runs the script in a new temporary directory, which
    relative local paths are then relative to. Other keyword arguments (e.g.
    ``executor``) are task options for the job that runs the script.
    """
    if isinstance(command, (list, tuple)):
        command = shlex.join(command)
    staging = list(nested.iter_leaves(inputs, _is_staging))
    remote_inputs = nested.map_nested(inputs, _is_staging, lambda pair: pair.remote)
    return _script(
        textwrap.dedent(command).strip(),
        inputs=remote_inputs,
        outputs=outputs,
        task_options=task_options,
        tempdir=tempdir,
        staging=staging,
        caller=_caller_name(),
    )


def _caller_name() -> str:
    """Full name of the task whose body called script() (its function name otherwise)."""
    frame = sys._getframe(2)
    name = frame.f_code.co_name
    found = frame.f_globals.get(name)
    fullname = getattr(found, "fullname", None)
    if isinstance(fullname, str):
        return fullname
    return "" if name.startswith("<") else name


@task(name="script", namespace="redun", version="1", check_valid="shallow", config_args=["caller"])
def _script(
    command: str,
    inputs: Any,
    outputs: Any,
    task_options: dict,
    tempdir: bool,
    staging: list,
    caller: str = "",
) -> Any:
    """One script() call: runs the script with the caller's task options."""
    runner = script_task.options(**task_options) if task_options else script_task
    return runner(command, inputs, outputs, tempdir, staging, caller)


@task(name="script_task", namespace="redun", version="1", config_args=["caller"])
def script_task(
    command: str,
    inputs: Any,
    outputs: Any,
    tempdir: bool,
    staging: list,
    caller: str = "",
) -> Any:
    """Stage ``staging`` in, run ``command``, stage ``outputs`` out; ``inputs`` are only
    hashed (they are the remote sides of the staged inputs, and any other inputs)."""
    import shutil
    import tempfile

    who = f"script() in task {caller}" if caller else "script()"
    workdir = tempfile.mkdtemp(prefix="redun-script-dir-") if tempdir else None
    try:
        for pair in staging:
            try:
                _in_dir(pair, workdir).stage()
            except StagingError:
                raise StagingError(
                    f"{who}: staged input {pair.remote.path} does not exist "
                    f"(it was to be copied to {pair.local.path})"
                ) from None
        stdout = run_script(command, cwd=workdir, who=who)
        if outputs is None:
            return stdout
        pairs = list(nested.iter_leaves(outputs, _is_staging))
        placed = [_in_dir(pair, workdir) for pair in pairs]
        for pair, local in zip(pairs, placed):
            if not local.local.exists():
                raise ScriptError(
                    f"{who}: the script did not create its staged output {pair.local.path} "
                    f"(to be copied to {pair.remote.path}); script: {_first_line(command)}"
                )
        # The result holds the Files the copies made (hashed now, with their new content);
        # the pairs' own remote Files keep the hashes the call was recorded with.
        staged_out = {id(pair): local.unstage() for pair, local in zip(pairs, placed)}
        return nested.map_nested(outputs, _is_staging, lambda pair: staged_out[id(pair)])
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _in_dir(pair: StagingFile | StagingDir, workdir: str | None) -> StagingFile | StagingDir:
    """``pair`` with a relative local path made relative to ``workdir`` (if any)."""
    if workdir is None or "://" in pair.local.path or os.path.isabs(pair.local.path):
        return pair
    return type(pair)(os.path.join(workdir, pair.local.path), pair.remote)


def _first_line(command: str) -> str:
    lines = [line.strip() for line in command.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("#!")] or [""]
    return lines[0] if len(lines[0]) <= 60 else lines[0][:57] + "..."
