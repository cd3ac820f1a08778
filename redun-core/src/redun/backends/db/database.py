"""The connection layer under the record: one class per kind of database.

SQLite (file or in memory) goes through Python's sqlite3 module; PostgreSQL
through a SQLAlchemy engine, imported only when such a URI is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from redun.backends.base import BackendError
from redun.backends.db.uri import DBUri

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from redun.backends.db.sqlite_process import SqliteProcess


class Database(Protocol):
    """What the backend, its writer and its cache reader need from a database."""

    dialect: str  # "sqlite" or "postgresql": picks the SQL of rawsql.RawStatements
    db_name: str
    lock: AbstractContextManager[Any] | None  # held by every user of one shared connection

    def open(self) -> tuple[str | None, str]:
        """Open for writing, creating or checking the schema: (revision before, after)."""

    def revision(self) -> str | None:
        """The alembic revision without creating anything (None: no schema yet)."""

    def transaction(self) -> AbstractContextManager[Any]:
        """A DBAPI cursor inside a write transaction, committed on success."""

    def read_cursor(self) -> AbstractContextManager[Any]:
        """A DBAPI cursor for cache reads."""

    def start_process(self, role: str) -> SqliteProcess | None:
        """A child process for the writer's batches (``role`` "write") or for cache
        lookups ("lookup"); None: this process does that work itself."""

    def engine(self) -> Engine:
        """A SQLAlchemy engine on the same database (imports SQLAlchemy)."""

    def close(self) -> None:
        """Release every connection."""


def open_database(uri: DBUri, config: Mapping[str, str] | None = None) -> Database:
    """The database object for ``uri`` (nothing is connected yet); ``config`` is the
    [backend] section (PostgreSQL reads where its credentials come from)."""
    if uri.is_sqlite:
        from redun.backends.db.sqlite import SQLiteDatabase

        return SQLiteDatabase(uri)
    if uri.backend == "postgresql":
        from redun.backends.db.postgres import PostgresDatabase

        return PostgresDatabase(uri, config)
    raise BackendError(
        f"unsupported database {uri.display!r}; use sqlite:///PATH or postgresql://..."
    )
