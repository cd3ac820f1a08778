"""`redun log --job` with nothing else asked: every job of the record, one line each.

On 100,000s of jobs the listing is bound by turning rows into Python objects. On a
SQLite file it therefore reads in two processes: a forked child reads and formats the
arguments stored in the first rows of the argument table while this process reads the
jobs and then the other rows (a share sized so that both finish together). Nothing here imports
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
from redun.cli.log_format import job_line_heads, join_job_lines

T = TypeVar("T")


# Reading a job and writing its line up to the arguments costs about half as much as
# reading a call's arguments (measured on a 100k-job record): what sizes the child's share.
JOB_COST = 0.55
# Beyond every rowid (SQLite's smallest and largest): the outer ends of the two ranges.
_BELOW_ALL = -(2**63)
_ABOVE_ALL = 2**63 - 1


def every_job_lines(backend: Any) -> list[str]:
    """The listing's lines, newest job first (``backend`` is a loaded RedunBackend)."""
    path = backend.uri.path if backend.uri.is_sqlite else None
    with backend.read_cursor() as cursor:
        split = _split_row(cursor) if path is not None else None
        child_rows = None if split is None else (_BELOW_ALL, split)  # (None: every row)
        with ForkedCall(lambda: _file_call_args(path, child_rows), run=path is not None) as child:
            heads = job_line_heads(joblines.read_job_lines(cursor))
            own = {}
            if split is not None:
                own = joblines.read_all_call_args(cursor, 50, (split, _ABOVE_ALL))
            args = child.result()
            if args is None:  # (no child, or it failed: read them here, where errors show)
                args = joblines.read_all_call_args(cursor)
            else:
                args = merge_call_args(cursor, args, own)
    return join_job_lines(heads, args)


def merge_call_args(cursor: Any, args: dict[str, str], more: dict[str, str]) -> dict[str, str]:
    """``args`` updated with ``more``, both read from separate argument rows: a call with
    rows among both is read again whole."""
    across = [call for call in more if call in args]
    args.update(more)
    if across:
        args.update(joblines.read_call_args(cursor, across, "?"))
    return args


def _split_row(cursor: Any) -> int | None:
    """Where the child's argument rows end: a rowid such that reading the arguments below
    it takes about as long as reading the jobs and the arguments above (the rows counted
    by the tables' largest row ids). None: the child reads every argument."""
    counts = []
    for table in ("job", "argument"):
        cursor.execute(f"SELECT max(rowid) FROM {table}")
        counts.append(cursor.fetchone()[0] or 0)
    jobs, arguments = counts
    share = (jobs * JOB_COST + arguments) / (2 * arguments) if arguments else 1.0
    return None if share >= 1 else int(share * arguments) + 1


def _file_call_args(path: str, rows: tuple[int, int] | None) -> dict[str, str]:
    uri = f"{Path(path).absolute().as_uri()}?mode=ro"  # (never creates a file)
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)
    try:
        return joblines.read_all_call_args(conn.cursor(), 50, rows)
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
