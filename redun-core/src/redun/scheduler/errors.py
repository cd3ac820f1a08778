"""Errors raised by the scheduler and the value that records a failed call."""

from __future__ import annotations

import pickle
import traceback as tb_module
from types import TracebackType

from redun.hashing import hash_struct, pickle_dumps
from redun.values import Value


class SchedulerError(Exception):
    """The scheduler cannot run the workflow as configured; the message says why."""


class JobCancelledError(Exception):
    """A job was cancelled because the execution failed elsewhere."""


def user_traceback(error: BaseException) -> list[str]:
    """The error's traceback without the frames of the engine itself."""
    frames = [
        frame
        for frame in tb_module.extract_tb(error.__traceback__)
        if "/redun/" not in frame.filename.replace("\\", "/")
        or "/tests/" in frame.filename.replace("\\", "/")
    ]
    lines = ["Traceback (most recent call last):\n", *tb_module.format_list(frames)]
    lines += tb_module.format_exception_only(type(error), error)
    return lines


class ErrorValue(Value):
    """The recorded result of a failed call: the exception and its traceback text."""

    type_name = "redun.ErrorValue"

    def __init__(self, error: BaseException, traceback: str | None = None) -> None:
        self.error = error
        if traceback is None and isinstance(error, BaseException):
            traceback = "".join(user_traceback(error))
        self.traceback = traceback or ""

    def get_hash(self, data: bytes | None = None) -> str:
        return hash_struct(
            [
                "ErrorValue",
                f"{type(self.error).__module__}.{type(self.error).__qualname__}",
                str(self.error),
                self.traceback,
            ]
        )

    def serialize(self) -> bytes:
        try:
            error_bytes = pickle_dumps(self.error)
            pickle.loads(error_bytes)
            error: BaseException = self.error
        except Exception:
            error = RuntimeError(f"{type(self.error).__name__}: {self.error}")
        clone = ErrorValue.__new__(ErrorValue)
        clone.error, clone.traceback = error, self.traceback
        return pickle_dumps(clone)

    def __getstate__(self) -> dict:
        return {"error": self.error, "traceback": self.traceback}

    def __setstate__(self, state: dict) -> None:
        self.error = state.get("error")
        traceback = state.get("traceback", "")
        self.traceback = traceback if isinstance(traceback, str) else str(traceback)

    def __repr__(self) -> str:
        return f"ErrorValue({self.error!r})"


class Traceback(Value):
    """A traceback as redun 0.4x recorded it (read back from old records)."""

    type_name = "redun.Traceback"

    def __init__(self, frames: list | None = None, logs: list | None = None) -> None:
        self.frames = frames or []
        self.logs = logs or []

    def __setstate__(self, state: dict) -> None:
        self.frames = list(state.get("frames") or [])
        self.logs = list(state.get("logs") or [])
        self.error = state.get("error")

    def __str__(self) -> str:
        lines = ["Traceback (most recent call last):\n"]
        lines += tb_module.format_list(self.frames)
        return "".join(lines) + "".join(f"{line}\n" for line in self.logs)


def attach_traceback(error: BaseException, traceback: str | TracebackType | None) -> None:
    """Keep a remote job's traceback text on the exception for display."""
    if isinstance(traceback, str) and traceback:
        try:
            error.__redun_traceback__ = traceback  # type: ignore[attr-defined]
        except AttributeError:
            pass
