"""The program of a SQLite record's write or lookup process (see ``sqlite_process.py``).

Reads numbered requests from stdin and answers each on stdout, in order, with
``(number, error, rows)``. A request ``(number, "write", (messages, flush, now,
wait))`` writes one batch of row messages through a RowWriter (rows.py), all of it
or nothing, and answers with the rows written per table once committed (batches
that come within COMMIT_AFTER seconds share a transaction); ``(number,
"evaluations", eval_hashes)`` answers with the cache's evaluation rows
(lookups.py); ``(number, "read", (sql, params))`` with the rows of one query.
``None`` ends the process. Messages are pickles behind an 8-byte length.

The process runs this file as a script, with the standard library only: of
redun it imports just modules that are standard library only themselves (rows.py,
lookups.py and what they import), under their own names but without running the
packages' ``__init__`` modules.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import sqlite3
import struct
import sys
import time
import types
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from redun.backends.db.rows import RowWriter, TableRows

_PACKAGES = ("redun", "redun.backends", "redun.backends.db")

HEADER = struct.Struct("!Q")
IDLE = object()  # no request came within the time given
# Longest a write transaction stays open while batches keep coming (a flush commits at once).
COMMIT_AFTER = 1.0


def encode(message: Any) -> bytes:
    """``message`` as sent: its pickle behind its length."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def write_message(stream: BinaryIO, message: Any) -> None:
    stream.write(encode(message))
    stream.flush()


def import_from_redun() -> None:
    """Make redun's standard-library-only modules importable by their names, without
    running the ``__init__`` of the packages above them (which import all of redun)."""
    path = os.path.dirname(os.path.abspath(__file__))
    for name in reversed(_PACKAGES):  # (this file is in the innermost package)
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [path]
            sys.modules[name] = package
        path = os.path.dirname(path)


def row_writer() -> RowWriter:
    """The RowWriter of this write process."""
    import_from_redun()
    from redun.backends.db.rows import RowWriter

    return RowWriter("sqlite", one_row=True)


def find_evaluations(conn: sqlite3.Connection, eval_hashes: list[str]) -> list[tuple]:
    import_from_redun()
    from redun.backends.db.lookups import find_evaluations

    return find_evaluations(conn.cursor(), eval_hashes, "?")


def portable(error: Exception) -> Exception:
    """``error`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


class Messages:
    """The messages on a file descriptor (requests here, answers in the parent), each
    waited for at most a given time.

    Read from the descriptor directly (no buffer): what select() reports as
    readable is then all there is to read.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def next(self, timeout: float | None = None) -> Any:
        """The next message; IDLE if none starts within ``timeout`` seconds; None at the end."""
        if timeout is not None and not select.select([self.fd], [], [], timeout)[0]:
            return IDLE
        header = self._read(HEADER.size)
        if header is None:
            return None
        data = self._read(HEADER.unpack(header)[0])
        return None if data is None else pickle.loads(data)

    def _read(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:
                return None  # end of input (or a torn message: the other side is gone)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class Session:
    """Answers requests on one connection; batches share a transaction for up to
    COMMIT_AFTER seconds.

    Each commit rewrites every index page its rows touched (random keys touch most of
    them), so a commit per batch made a big run's write process spend more time
    committing than inserting. A batch runs inside a savepoint, so a failing one
    leaves nothing while the others still commit; its answer (and those of the batches
    before it) goes out once the transaction ends.
    """

    def __init__(self, conn: sqlite3.Connection, answers: BinaryIO) -> None:
        self.conn = conn
        self.answers = answers
        self.writer: RowWriter | None = None  # (a lookup process never writes)
        self.opened: float | None = None  # when the open transaction began
        self.waiting: list[tuple[int, Exception | None, dict[str, int]]] = []  # its answers

    def timeout(self) -> float | None:
        """How long the next request may take before the open transaction commits."""
        if self.opened is None:
            return None
        return max(0.0, self.opened + COMMIT_AFTER - time.monotonic())

    def handle(self, number: int, kind: str, body: Any) -> None:
        if kind == "write":
            self.write(number, body)
            return
        self.commit()  # (answers go out in order)
        rows, error = None, None
        try:
            if kind == "evaluations":
                rows = find_evaluations(self.conn, body)
            else:
                rows = self.conn.execute(*body).fetchall()
        except Exception as failure:  # raised in the parent
            error = portable(failure)
        write_message(self.answers, (number, error, rows))

    def write(self, number: int, batch: tuple) -> None:
        """Write one batch ``(messages, flush, now, wait)``; committed at once with flush."""
        try:
            self.writer = self.writer or row_writer()
            table_rows = self.writer.rows(*batch)
            if table_rows and self.opened is None:
                self.conn.execute("BEGIN IMMEDIATE")
                self.opened = time.monotonic()
            counts = self._run(table_rows) if table_rows else {}
            self.waiting.append((number, None, counts))
        except Exception as failure:
            self.waiting.append((number, portable(failure), {}))
        if batch[1] or self.opened is None or self.timeout() == 0.0:
            self.commit()  # (with no transaction open: just the answers)

    def _run(self, table_rows: TableRows) -> dict[str, int]:
        self.conn.execute("SAVEPOINT batch")
        try:
            counts = self.writer.execute(self.conn, table_rows)  # type: ignore[union-attr]
        except BaseException:
            self.conn.execute("ROLLBACK TO batch")
            self.conn.execute("RELEASE batch")
            raise
        self.conn.execute("RELEASE batch")
        return counts

    def commit(self) -> None:
        """End the open transaction and answer every batch it held."""
        failed = None
        if self.opened is not None:
            self.opened = None
            try:
                self.conn.execute("COMMIT")
            except Exception as failure:
                failed = portable(failure)
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
        for number, error, counts in self.waiting:
            write_message(self.answers, (number, error or failed, None if failed else counts))
        self.waiting = []


def main(settings: dict[str, Any]) -> None:
    # Ctrl-C reaches the whole process group; the parent, which then still records its
    # cancelled jobs, decides when this process ends (by closing, or by exiting).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = sqlite3.connect(settings["path"], timeout=settings["timeout"], isolation_level=None)
    for pragma in settings["pragmas"]:
        conn.execute(pragma).fetchall()
    session = Session(conn, sys.stdout.buffer)
    requests = Messages(sys.stdin.fileno())
    while True:
        request = requests.next(session.timeout())
        if request is IDLE:
            session.commit()
            continue
        if request is None:
            break
        session.handle(*request)
    session.commit()
    conn.close()
    sys.stdout.buffer.flush()
    os._exit(0)  # nothing left to tidy: skip the interpreter's teardown


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
