"""SQLite records through Python's sqlite3 module, without SQLAlchemy.

A new database gets its schema from a static script (``schema/sqlite_3_5.sql``,
the exact DDL of the alembic base migration) in one transaction; an existing
one has its revision checked with plain SQL. SQLAlchemy is imported only when
someone asks for :meth:`SQLiteDatabase.engine` (``redun log``, queries).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redun.backends.base import BackendError
from redun.backends.db.rawsql import sqlite_time
from redun.backends.db.uri import DBUri
from redun.backends.db.versions import CURRENT_VERSION, check_revision, not_redun_error

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from redun.backends.db.sqlite_process import SqliteProcess

SCHEMA_SCRIPT = Path(__file__).with_name("schema") / "sqlite_3_5.sql"
BUSY_TIMEOUT = 60.0  # seconds to wait for another process's write lock
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    # Job and call ids are random, so index inserts touch pages all over the file: a
    # 64 MiB page cache (allocated as it fills) keeps most of them in memory. Larger
    # measured no faster on a 100k-job run and cost 300 MB more of peak memory.
    "PRAGMA cache_size=-65536",
)


def configure(conn: Any) -> None:
    """Set the record's pragmas on a DBAPI connection to a SQLite file."""
    cursor = conn.cursor()
    try:
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
            cursor.fetchall()
    finally:
        cursor.close()


def connect(path: str | None) -> sqlite3.Connection:
    """A connection to the file at ``path`` (None: a new in-memory database).

    Autocommit mode (transactions are explicit), usable from any thread.
    """
    conn = sqlite3.connect(
        path if path is not None else ":memory:",
        timeout=BUSY_TIMEOUT,
        isolation_level=None,
        check_same_thread=False,
    )
    if path is not None:
        try:
            configure(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def check_sqlite_path(path: str) -> None:
    """Raise BackendError if the SQLite file at ``path`` cannot be created or written."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise BackendError(f"database path {path} is a directory; point db_uri at a file")
    if not os.path.isdir(directory):
        raise BackendError(
            f"cannot create database {path}: directory {directory} does not exist; "
            "create it or fix [backend] db_uri"
        )
    # WAL mode writes -wal and -shm files beside the database, so the directory must be writable.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackendError(
            f"cannot write database {path}: directory {directory} is not writable; "
            "fix its permissions or choose another [backend] db_uri"
        )
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise BackendError(
            f"cannot write database {path}: the file is not readable and writable; "
            "fix its permissions or choose another [backend] db_uri"
        )


# Schema ---------------------------------------------------------------------------------
@functools.cache
def schema_statements() -> tuple[str, ...]:
    """The statements of the static schema script, in order."""
    statements: list[str] = []
    pending = ""
    for line in SCHEMA_SCRIPT.read_text(encoding="utf-8").splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise BackendError(f"the schema script {SCHEMA_SCRIPT} ends inside a statement")
    return tuple(statements)


def read_revision(conn: sqlite3.Connection) -> str | None:
    """The database's alembic revision, or None if it has no tables at all.

    Raises BackendError for a database holding other tables but no redun revision.
    """
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        row = None
    if row is not None:
        return row[0]
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone():
        raise not_redun_error()
    return None


def create_schema(conn: sqlite3.Connection) -> None:
    """Run the schema script and insert the version rows (inside the caller's transaction)."""
    for statement in schema_statements():
        conn.execute(statement)
    conn.execute(
        "INSERT INTO redun_version (id, version, timestamp) VALUES (?, ?, ?)",
        (str(uuid.uuid4()), CURRENT_VERSION.major, sqlite_time(dt.datetime.now(dt.timezone.utc))),
    )
    conn.execute(
        "INSERT INTO alembic_version (version_num) VALUES (?)", (CURRENT_VERSION.revision,)
    )


def prepare_schema(conn: sqlite3.Connection, db_name: str) -> tuple[str | None, str]:
    """Check the schema, or create it in an empty database: (revision before, after)."""
    before = read_revision(conn)
    if before is None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = read_revision(conn)  # another process may have created it meanwhile
            if before is None:
                create_schema(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if before is None:
            return None, CURRENT_VERSION.revision
    check_revision(before, db_name)
    return before, before


# The database -----------------------------------------------------------------------------
class SQLiteDatabase:
    """A SQLite record: a file, or an in-memory database (``uri.path`` None).

    A file has one connection for schema checks and the writer thread and one
    for cache reads. An in-memory database has a single connection that every
    user takes turns on through :attr:`lock`.
    """

    dialect = "sqlite"

    def __init__(self, uri: DBUri) -> None:
        self.path = uri.path
        self.db_name = uri.display
        self.lock: contextlib.AbstractContextManager[Any] | None = (
            threading.RLock() if self.path is None else None
        )
        self._reader_lock = self.lock or threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._engine: Engine | None = None

    def _turn(self) -> contextlib.AbstractContextManager:
        return self.lock if self.lock is not None else contextlib.nullcontext()

    def open(self) -> tuple[str | None, str]:
        """Open the database, creating the schema in a new one: (revision before, after)."""
        with self._turn():
            if self._conn is None:
                if self.path is not None:
                    check_sqlite_path(self.path)
                conn = connect(self.path)
                try:
                    result = prepare_schema(conn, self.db_name)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
                return result
            return prepare_schema(self._conn, self.db_name)

    def revision(self) -> str | None:
        """The alembic revision, without creating anything (None: no schema yet)."""
        if self.path is None:
            with self._turn():
                return None if self._conn is None else read_revision(self._conn)
        if not os.path.exists(self.path):
            return None
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
        try:
            return read_revision(conn)
        finally:
            conn.close()

    def _open_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise BackendError("the redun database is not open; call load() first")
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A cursor inside a write transaction, committed on success."""
        with self._turn():
            conn = self._open_conn()
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.cursor()
            try:
                yield cursor
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    def start_process(self, role: str) -> SqliteProcess | None:
        """A child process on the file: for the writer's batches (``role`` "write") or
        for cache lookups ("lookup", read-only). None for an in-memory database."""
        if self.path is None:
            return None
        from redun.backends.db.sqlite_process import SqliteProcess

        pragmas = _PRAGMAS if role == "write" else (*_PRAGMAS, "PRAGMA query_only=ON")
        return SqliteProcess(os.path.abspath(self.path), BUSY_TIMEOUT, pragmas, role)

    def reader_connection(self) -> sqlite3.Connection:
        """The connection cache reads use (opened on first use)."""
        if self.path is None:
            return self._open_conn()
        if self._reader is None:
            self._reader = connect(self.path)
        return self._reader

    @contextlib.contextmanager
    def read_cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor for cache reads, held alone while in use."""
        with self._reader_lock:
            cursor = self.reader_connection().cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def engine(self) -> Engine:
        """A SQLAlchemy engine on this database (imports SQLAlchemy; for queries)."""
        if self._engine is None:
            from redun.backends.db import engine

            if self.path is None:
                self._engine = engine.shared_connection_engine(self._open_conn())
            else:
                self._engine = engine.sqlite_file_engine(self.path)
        return self._engine

    def close(self) -> None:
        """Close every connection and the engine."""
        with self._turn():
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
            with self._reader_lock:
                for conn in (self._reader, self._conn):
                    if conn is not None:
                        conn.close()
                self._reader = self._conn = None
