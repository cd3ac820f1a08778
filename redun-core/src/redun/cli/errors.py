"""How the command line reports failures: one line for bad input, the user's own
traceback (without redun's frames) for errors raised by the user's code."""

from __future__ import annotations

import os
import re
import traceback
from typing import IO, Any

import click

_HIDDEN_PREFIXES: tuple[str, ...] = ()


def _hidden_prefixes() -> tuple[str, ...]:
    """Directories whose frames are the engine's, not the user's."""
    global _HIDDEN_PREFIXES
    if not _HIDDEN_PREFIXES:
        import pluggy

        import redun

        _HIDDEN_PREFIXES = tuple(
            os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep
            for module in (redun, click, pluggy)
        )
    return _HIDDEN_PREFIXES


def is_user_frame(filename: str) -> bool:
    """Whether a traceback frame belongs to user code (not redun, click or importlib)."""
    if filename.startswith("<frozen "):
        return False
    return not os.path.abspath(filename).startswith(_hidden_prefixes())


_FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line \d+')
# A worker process's own frames, above the task's.
_WORKER_MACHINERY = (
    os.path.join("", "concurrent", "futures", ""),
    os.path.join("", "multiprocessing", ""),
)


def filter_remote_traceback(text: str) -> tuple[str, bool]:
    """A traceback's text (from another process) without the engine's frames.

    Returns the text and whether any of the user's frames remain.
    """
    kept: list[str] = []
    keep = True
    user_frames = 0
    for line in text.strip("\n").splitlines():
        if line == '"""':  # concurrent.futures quotes the worker's traceback
            continue
        match = _FRAME.match(line)
        if match:
            path = match.group("path")
            keep = is_user_frame(path) and not any(m in path for m in _WORKER_MACHINERY)
            user_frames += keep
        elif not line.startswith("    "):  # not a frame's source line: the heading or the error
            keep = True
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n", user_frames > 0


def format_user_traceback(error: BaseException) -> str:
    """``error``'s traceback limited to the user's frames, ending with the error line."""
    remote = getattr(error, "__redun_traceback__", None)
    if isinstance(remote, str) and remote.strip():
        return filter_remote_traceback(remote)[0]
    frames = [f for f in traceback.extract_tb(error.__traceback__) if is_user_frame(f.filename)]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)


def has_user_frames(error: BaseException) -> bool:
    return any(is_user_frame(f.filename) for f in traceback.extract_tb(error.__traceback__))


def last_line(error: BaseException) -> str:
    """``TypeName: message`` on one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class CliError(click.ClickException):
    """Bad input or configuration: printed as ``redun: error: <message>``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"redun: error: {self.message}", err=True)


def failure_summary(error: BaseException, first_line_only: bool = True) -> str | None:
    """What went wrong, naming the task that raised ``error`` (None if no task did)."""
    task = getattr(error, "__redun_task__", None)
    if not isinstance(task, str):
        return None
    filename = getattr(error, "filename", None)
    if isinstance(error, FileNotFoundError) and filename:
        return f"task {task}: file {os.fsdecode(filename)!r} does not exist"
    message = str(error).strip()
    if first_line_only:
        message = message.splitlines()[0] if message else ""
    if message.startswith(f"task {task}"):  # the error names its task already
        return message
    return f"task {task} failed: {type(error).__name__}: {message}".rstrip(": ")


class UserCodeError(click.ClickException):
    """The user's code raised: the user's traceback, then one summary line.

    An error raised by redun on the task's behalf (a failed script, say) has no
    frames of the user's: only its message is printed.
    """

    def __init__(self, error: BaseException, exit_code: int = 1) -> None:
        super().__init__(format_user_traceback(error))
        self.error = error
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        remote = getattr(self.error, "__redun_traceback__", None)
        if isinstance(remote, str) and remote.strip():
            user_frames = filter_remote_traceback(remote)[1]
        else:
            user_frames = has_user_frames(self.error)
        if not user_frames:
            summary = failure_summary(self.error, first_line_only=False)
            if summary:
                click.echo(f"redun: error: {summary}", err=True)
                return
        click.echo(self.message, err=True, nl=False)
        summary = failure_summary(self.error)
        if summary:
            click.echo(f"redun: error: {summary}", err=True)
