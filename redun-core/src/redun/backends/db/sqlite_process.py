"""A SQLite record's own child process: it commits the writer's batches and runs
queries, off this process's GIL.

SQLite's work for a big run (index pages of random keys in every table) takes
about as long as the scheduler's own Python, and on a thread the two take turns
on one GIL. In a child process they run side by side: the writer thread only
turns records into row messages and sends them down a pipe (the child sorts them
into rows and runs them), and the cache reader asks for the next slice of
lookups while the scheduler works through this one.

The child runs ``sqlite_worker.py`` as a plain script (standard library only,
ready in milliseconds). Requests are numbered and answered in order;
:meth:`SqliteProcess.sync` waits until every batch sent so far is committed and
raises the first error any of them met; :meth:`SqliteProcess.request` sends a
query and :meth:`SqliteProcess.answer` waits for its rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from redun.backends.base import BackendError
from redun.backends.db.sqlite_worker import Messages, encode

WORKER_SCRIPT = Path(__file__).with_name("sqlite_worker.py")


# Pipes this large hold a slice of lookups and its answers, or a batch being built while
# the child commits the one before, without either side stopping to wait for the other.
PIPE_SIZE = 1 << 20


def _widen(fd: int) -> None:
    """Grow a pipe's buffer to PIPE_SIZE where the system allows (Linux); else leave it."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):  # not Linux, or above pipe-max-size
        pass


class SqliteProcess:
    """A child process with its own connection to one SQLite file.

    Each instance has one user thread at a time (the writer's, or the cache reader's
    caller): ``send``, ``request``, ``answer``, ``sync`` and ``close`` come from it.
    """

    def __init__(
        self, path: str, timeout: float, pragmas: Iterable[str], role: str = "write"
    ) -> None:
        self.role = role  # what the process is for, in messages: "write" or "lookup"
        settings = json.dumps({"path": path, "timeout": timeout, "pragmas": list(pragmas)})
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(WORKER_SCRIPT), settings],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise BackendError(f"cannot start the record's {role} process: {error}") from None
        # Written with os.write, never through a buffer a forked child could flush again.
        self._stdin_fd = self._process.stdin.fileno()  # type: ignore[union-attr]
        for pipe in (self._process.stdin, self._process.stdout):
            _widen(pipe.fileno())  # type: ignore[union-attr]
        self._sent = 0  # requests sent
        self._done = 0  # requests answered
        self._error: BaseException | None = None  # of a batch
        self._queries: set[int] = set()  # numbers of the queries not answered yet
        self._replies: dict[int, tuple[BaseException | None, Any]] = {}  # (and their answers)
        self._ended = False  # the child stopped answering (it exited)
        # Called (on the answers thread) with the rows per table of each committed batch.
        self.on_commit: Callable[[dict[str, int]], None] | None = None
        self._changed = threading.Condition()
        self._answers = threading.Thread(
            target=self._read_answers, name=f"redun-db-{role}-answers", daemon=True
        )
        self._answers.start()

    def send(self, batch: tuple[list[tuple], bool, float, float]) -> None:
        """Hand one batch to the child, ``(messages, flush, now, wait)`` as RowWriter.rows
        takes them; it commits in the background (see :meth:`sync`)."""
        self._sent += 1
        if not self._write(encode((self._sent, "write", batch))):
            self.sync()  # raises why the child is gone

    def read(self, sql: str, params: Any = ()) -> list[tuple]:
        """The rows of one query, run by the child after the batches sent before it."""
        return self.answer(self.request("read", (sql, params)))

    def request(self, kind: str, body: Any) -> int:
        """Send one query without waiting: ``"read"`` with (sql, params), or
        ``"evaluations"`` with eval hashes (see sqlite_worker); its number, for
        :meth:`answer`."""
        self._sent += 1
        number = self._sent
        self._queries.add(number)
        if not self._write(encode((number, kind, body))):
            self.sync()  # raises why the child is gone
        return number

    def answer(self, number: int) -> list[tuple]:
        """The rows of query ``number`` (waiting for them); raises the query's error."""
        with self._changed:
            while self._done < number and not self._ended:
                self._changed.wait()
            self._queries.discard(number)
            reply = self._replies.pop(number, None)
        if reply is None:
            self.sync()  # raises why the child is gone
            raise BackendError(f"the record's {self.role} process did not answer a query")
        error, rows = reply
        if error is not None:
            raise error
        return rows

    def sync(self) -> None:
        """Wait until every batch sent so far is committed; raise the first error (once)."""
        with self._changed:
            while self._done < self._sent and not self._ended:
                self._changed.wait()
            error, self._error = self._error, None
            if error is None and self._done < self._sent:
                self._done = self._sent  # (reported once)
                error = BackendError(self._death_notice())
        if error is not None:
            raise error

    def close(self) -> None:
        """Commit everything sent, then end the process; raise a pending error.

        Its exit is waited for: closing the record's last connection checkpoints the
        write-ahead log into the file, which must be whole once a run has ended.
        """
        try:
            self.sync()
        finally:
            self._write(encode(None))
            self._process.stdin.close()  # type: ignore[union-attr]
            self._answers.join()
            self._process.wait()
            self._process.stderr.close()  # type: ignore[union-attr]

    def _write(self, data: bytes) -> bool:
        """Write all of ``data`` to the child; False if it is gone."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._stdin_fd, view) :]
        except (BrokenPipeError, OSError):
            self._answers.join()
            return False
        return True

    def _death_notice(self) -> str:
        code = self._process.wait()
        text = self._process.stderr.read().decode(errors="replace").strip()  # type: ignore[union-attr]
        reason = f": {text.splitlines()[-1]}" if text else ""
        return f"the record's {self.role} process ended unexpectedly (exit code {code}){reason}"

    def _read_answers(self) -> None:
        answers = Messages(self._process.stdout.fileno())  # type: ignore[union-attr]
        while True:
            try:
                answer = answers.next()
            except Exception:  # a torn answer: the child is gone
                answer = None
            with self._changed:
                if answer is None:
                    self._ended = True
                    self._changed.notify_all()
                    self._process.stdout.close()  # type: ignore[union-attr]
                    return
                self._done, error, rows = answer
                if self._done in self._queries:
                    self._replies[self._done] = (error, rows)
                elif error is not None:
                    if self._error is None:
                        self._error = error
                elif self.on_commit is not None:
                    self.on_commit(rows)
                self._changed.notify_all()
