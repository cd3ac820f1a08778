"""The program of a SQLite record's write process (started by ``sqlite_process.py``).

Reads numbered requests from stdin and answers each on stdout, in order, with
``(number, error, rows)``. A request ``(number, "write", [(sql, params, many), ...])``
runs its statements in one transaction (error None once committed); a request
``(number, "read", (sql, params))`` answers with the rows of one query. ``None``
ends the process. Messages are pickles behind an 8-byte length. Standard library only: the
process runs this file as a script and never imports redun.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import struct
import sys
from typing import Any, BinaryIO

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


def run_batch(conn: sqlite3.Connection, statements: list[tuple[str, Any, bool]]) -> None:
    """Run the statements in one transaction; nothing of it stays on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params, many in statements:
            if many:
                conn.executemany(sql, params)
            else:
                conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


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
    source, answers = sys.stdin.buffer, sys.stdout.buffer
    while (message := read_message(source)) is not None:
        number, kind, body = message
        rows, error = None, None
        try:
            if kind == "write":
                run_batch(conn, body)
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
