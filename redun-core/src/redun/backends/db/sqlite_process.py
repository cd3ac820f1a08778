"""A SQLite record's writes, run in a process of their own.

SQLite's work for a big run (index pages of random keys in every table) takes
about as long as the scheduler's own Python, and on the writer *thread* the two
take turns on one GIL. In a child process they run side by side: the writer
thread only turns records into statements and sends them down a pipe.

The child runs ``sqlite_worker.py`` as a plain script (standard library only,
ready in milliseconds). Requests are numbered and answered in order;
:meth:`WriteProcess.sync` waits until every batch sent so far is committed and
raises the first error any of them met. The writer's own reads (which reused
calls the record lacks) go to the child too, through :meth:`WriteProcess.cursor`:
on the parent's threads, a query's every row would wait for the GIL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redun.backends.base import BackendError
from redun.backends.db.sqlite_worker import encode, read_message

WORKER_SCRIPT = Path(__file__).with_name("sqlite_worker.py")


class StatementList:
    """A stand-in DBAPI cursor that keeps the statements given to it, in order."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any, bool]] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        self.statements.append((sql, params, False))

    def executemany(self, sql: str, seq_of_params: Iterable[Any]) -> None:
        self.statements.append((sql, list(seq_of_params), True))


class ReadCursor:
    """A DBAPI-like cursor whose queries the write process runs (for ``RawStatements``)."""

    def __init__(self, process: WriteProcess) -> None:
        self._process = process
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        self._rows = self._process.read(sql, params)

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows


class WriteProcess:
    """The child process that commits batches of statements to one SQLite file.

    ``send`` is called from one thread (the writer's); ``sync`` and ``close`` from it too.
    """

    def __init__(self, path: str, timeout: float, pragmas: Iterable[str]) -> None:
        settings = json.dumps({"path": path, "timeout": timeout, "pragmas": list(pragmas)})
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(WORKER_SCRIPT), settings],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise BackendError(f"cannot start the record's write process: {error}") from None
        # Written with os.write, never through a buffer a forked child could flush again.
        self._stdin_fd = self._process.stdin.fileno()  # type: ignore[union-attr]
        self._sent = 0  # requests sent
        self._done = 0  # requests answered
        self._error: BaseException | None = None  # of a batch
        self._reading = 0  # the number of the read waiting for its answer
        self._read: tuple[int, BaseException | None, Any] | None = None  # (its answer)
        self._ended = False  # the child stopped answering (it exited)
        self._changed = threading.Condition()
        self._answers = threading.Thread(
            target=self._read_answers, name="redun-db-write-answers", daemon=True
        )
        self._answers.start()

    def send(self, statements: list[tuple[str, Any, bool]]) -> None:
        """Hand one batch to the child; it commits in the background (see :meth:`sync`)."""
        self._sent += 1
        if not self._write(encode((self._sent, "write", statements))):
            self.sync()  # raises why the child is gone

    def read(self, sql: str, params: Any = ()) -> list[tuple]:
        """The rows of one query, run by the child after the batches sent before it."""
        self._sent += 1
        number = self._reading = self._sent
        if not self._write(encode((number, "read", (sql, params)))):
            self.sync()
        with self._changed:
            while self._done < number and not self._ended:
                self._changed.wait()
            answer, self._read = self._read, None
        if answer is None or answer[0] != number:
            self.sync()  # raises why the child is gone
            raise BackendError("the record's write process did not answer a query")
        _, error, rows = answer
        if error is not None:
            raise error
        return rows

    def cursor(self) -> ReadCursor:
        """A cursor for the writer's reads."""
        return ReadCursor(self)

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
        return f"the record's write process ended unexpectedly (exit code {code}){reason}"

    def _read_answers(self) -> None:
        source = self._process.stdout
        while True:
            try:
                answer = read_message(source)  # type: ignore[arg-type]
            except Exception:  # a torn answer: the child is gone
                answer = None
            with self._changed:
                if answer is None:
                    self._ended = True
                    self._changed.notify_all()
                    self._process.stdout.close()  # type: ignore[union-attr]
                    return
                self._done, error, _ = answer
                if self._done == self._reading:
                    self._read = answer
                elif error is not None and self._error is None:
                    self._error = error
                self._changed.notify_all()
