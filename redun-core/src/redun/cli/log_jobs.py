"""`redun log --job` with nothing else asked: every job of the record, one line each.

On 100,000s of jobs the listing is bound by turning rows into Python objects. On a
SQLite file it therefore reads in two processes: a forked child reads and formats the
arguments of most calls while this process reads the jobs and then the arguments of
the other calls (a share sized so that both finish together). Nothing here imports
SQLAlchemy.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from redun.backends.db import joblines
from redun.backends.db.sqlite import BUSY_TIMEOUT
from redun.cli.log_format import job_lines

T = TypeVar("T")


# Reading a job's line costs about a third of reading a call's arguments (measured on a
# 100k-job record): what sizes the child's share of the calls.
JOB_COST = 1 / 3
# Above every stored call hash (the last code point): the upper end of this process's range.
_ABOVE_ALL = "\U0010ffff"


def every_job_lines(backend: Any) -> list[str]:
    """The listing's lines, newest job first (``backend`` is a loaded RedunBackend)."""
    path = backend.uri.path if backend.uri.is_sqlite else None
    with backend.read_cursor() as cursor:
        split = _split_hash(cursor) if path is not None else None
        child_range = None if split is None else ("", split)  # (None: every call)
        with ForkedCall(lambda: _file_call_args(path, child_range), run=path is not None) as child:
            jobs = joblines.read_job_lines(cursor)
            own = {}
            if split is not None:
                own = joblines.read_all_call_args(cursor, 50, (split, _ABOVE_ALL))
            args = child.result()
            if args is None:  # (no child, or it failed: read them here, where errors show)
                args = joblines.read_all_call_args(cursor)
            else:
                args.update(own)
    return job_lines(jobs, args)


def _split_hash(cursor: Any) -> str | None:
    """Where the child's calls end: a hash prefix such that reading the arguments of the
    calls below it takes about as long as reading the jobs and the other calls' arguments
    (the rows counted by the tables' largest row ids). None: the child reads every call."""
    counts = []
    for table in ("job", "argument"):
        cursor.execute(f"SELECT max(rowid) FROM {table}")
        counts.append(cursor.fetchone()[0] or 0)
    jobs, arguments = counts
    share = (jobs * JOB_COST + arguments) / (2 * arguments) if arguments else 1.0
    return None if share >= 1 else f"{int(share * 4096):03x}"  # (hashes are lowercase hex)


def _file_call_args(path: str, hash_range: tuple[str, str] | None) -> dict[str, str]:
    uri = f"{Path(path).absolute().as_uri()}?mode=ro"  # (never creates a file)
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)
    try:
        return joblines.read_all_call_args(conn.cursor(), 50, hash_range)
    finally:
        conn.close()


class ForkedCall(Generic[T]):
    """``func()`` run by a forked child process (where the OS can fork and ``run`` is set);
    :meth:`result` is its return value, sent back pickled.

    The child inherits what this process imported and starts at once; it must not use
    connections this process opened. Leaving the ``with`` block stops a child whose
    result was not taken.
    """

    def __init__(self, func: Callable[[], T], run: bool = True) -> None:
        self._pid: int | None = None
        self._pipe = -1
        if run and hasattr(os, "fork"):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                _run_child(func, write_end)
            os.close(write_end)
            self._pid, self._pipe = pid, read_end

    def result(self) -> T | None:
        """The child's return value; None if there is no child or it failed."""
        if self._pid is None:
            return None
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return pickle.loads(data) if status == 0 and data else None

    def __enter__(self) -> ForkedCall[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            os.close(self._pipe)
            os.waitpid(self._pid, 0)
            self._pid = None


def _run_child(func: Callable[[], Any], pipe: int) -> None:
    """In the child: send ``func()``'s result down ``pipe``, then exit without cleanup
    (the parent's buffers, connections and threads are not the child's to flush)."""
    status = 1
    try:
        data = pickle.dumps(func(), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(pipe, "wb") as out:
            out.write(data)
        status = 0
    finally:
        os._exit(status)
