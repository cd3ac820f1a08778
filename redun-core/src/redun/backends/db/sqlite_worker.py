"""The program of a SQLite record's write or lookup process (see ``sqlite_process.py``).

Reads numbered requests from stdin and answers each on stdout, in order, with
``(number, error, rows)``. A request ``(number, "write", (messages, flush, now,
wait))`` writes one batch of row messages through a RowWriter (rows.py) in one
transaction and answers with the rows written per table once committed; ``(number,
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
import signal
import sqlite3
import struct
import sys
import types
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from redun.backends.db.rows import RowWriter

_PACKAGES = ("redun", "redun.backends", "redun.backends.db")

HEADER = struct.Struct("!Q")


def read_message(stream: BinaryIO) -> Any:
    """The next message; None at end of input."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


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


def run_batch(conn: sqlite3.Connection, writer: RowWriter, batch: tuple) -> dict[str, int]:
    """Write one batch in one transaction (nothing of it stays on error); rows per table."""
    table_rows = writer.rows(*batch)
    if not table_rows:
        return {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        counts = writer.execute(conn, table_rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return counts


def portable(error: Exception) -> Exception:
    """``error`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def main(settings: dict[str, Any]) -> None:
    # Ctrl-C reaches the whole process group; the parent, which then still records its
    # cancelled jobs, decides when this process ends (by closing, or by exiting).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = sqlite3.connect(settings["path"], timeout=settings["timeout"], isolation_level=None)
    for pragma in settings["pragmas"]:
        conn.execute(pragma).fetchall()
    writer = None  # (a lookup process never writes)
    source, answers = sys.stdin.buffer, sys.stdout.buffer
    while (message := read_message(source)) is not None:
        number, kind, body = message
        rows, error = None, None
        try:
            if kind == "write":
                writer = writer or row_writer()
                rows = run_batch(conn, writer, body)
            elif kind == "evaluations":
                rows = find_evaluations(conn, body)
            else:
                rows = conn.execute(*body).fetchall()
        except Exception as failure:  # raised in the parent
            error = portable(failure)
        write_message(answers, (number, error, rows))
    conn.close()
    answers.flush()
    os._exit(0)  # nothing left to tidy: skip the interpreter's teardown


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
