"""PostgreSQL records through a SQLAlchemy engine, written with the same raw statements."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Engine

from redun.backends.db import migrate
from redun.backends.db.engine import postgres_engine
from redun.backends.db.uri import DBUri


class PostgresDatabase:
    """A PostgreSQL record: pooled connections for writes, one autocommit one for cache reads."""

    dialect = "postgresql"
    lock = None

    def __init__(self, uri: DBUri, config: Mapping[str, str] | None = None) -> None:
        self.db_name = uri.display
        self._uri = uri.uri
        self._config = dict(config or {})
        self._engine: Engine | None = None
        self._reader: Any = None
        self._reader_lock = threading.Lock()

    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use)."""
        if self._engine is None:
            self._engine = postgres_engine(self._uri, self.db_name, self._config)
        return self._engine

    def open(self) -> tuple[str | None, str]:
        """Create the schema (alembic) in an empty database or check it: (before, after)."""
        with self.engine().begin() as conn:
            return migrate.upgrade_schema(conn, self.db_name)

    def revision(self) -> str | None:
        """The alembic revision (None: no schema yet)."""
        with self.engine().connect() as conn:
            return migrate.get_revision(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """A DBAPI cursor inside a transaction, committed on success."""
        conn = self.engine().raw_connection()
        try:
            cursor = conn.cursor()
            try:
                yield cursor
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()
        finally:
            conn.close()

    @contextlib.contextmanager
    def read_cursor(self) -> Iterator[Any]:
        """A cursor for cache reads on a long-lived autocommit connection."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = self.engine().raw_connection()
                # No long-lived read snapshot: every lookup sees the latest commits.
                self._reader.driver_connection.autocommit = True
            cursor = self._reader.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def start_process(self, role: str) -> None:
        """None: the writer and the cache reader use this process's connections (the
        server already works beside it)."""
        return None

    def close(self) -> None:
        """Return the reader's connection and dispose of the engine."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
