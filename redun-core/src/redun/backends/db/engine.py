"""Opening the database: engines for SQLite files, in-memory SQLite and PostgreSQL.

Every failure becomes a one-line :class:`BackendError` naming the database and the fix.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from redun.backends.base import BackendError

MEMORY_URI = "sqlite://"
SQLITE_BUSY_TIMEOUT = 60.0  # seconds to wait for another process's write lock


def parse_uri(db_uri: str) -> URL:
    """Parse a database URI, raising BackendError for one SQLAlchemy cannot read."""
    try:
        return make_url(db_uri)
    except ArgumentError:
        raise BackendError(
            f"cannot parse db_uri {db_uri!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None


def is_memory(url: URL) -> bool:
    """Whether ``url`` names an in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def display_uri(url: URL) -> str:
    """The URI with any password hidden, for messages."""
    return url.render_as_string(hide_password=True)


def create_db_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and synchronous=NORMAL."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if is_memory(url):
            return create_engine(
                MEMORY_URI,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        check_sqlite_path(url.database or "")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if backend == "postgresql":
        try:
            return create_engine(_postgres_driver(url), pool_pre_ping=True)
        except ImportError as error:
            raise BackendError(
                f"the driver for {display_uri(url)!r} is not installed ({error}); install it"
            ) from None
    raise BackendError(
        f"unsupported database {display_uri(url)!r}; use sqlite:///PATH or postgresql://..."
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Job and call ids are random, so index inserts touch pages all over the file:
        # a 256 MiB page cache (allocated only as it fills) keeps them in memory.
        cursor.execute("PRAGMA cache_size=-262144")
    finally:
        cursor.close()


def _postgres_driver(url: URL) -> URL:
    """Name an installed driver (psycopg2, else psycopg 3) when the URI names none."""
    if url.drivername != "postgresql":
        return url
    for module, drivername in (
        ("psycopg2", "postgresql+psycopg2"),
        ("psycopg", "postgresql+psycopg"),
    ):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=drivername)
    raise BackendError(
        "no PostgreSQL driver is installed; `pip install psycopg2-binary` (or psycopg)"
    )


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


def describe_error(error: BaseException, db_name: str) -> str:
    """A one-line explanation of a database error."""
    if not isinstance(error, (SQLAlchemyError, OSError)):
        return str(error)
    orig = getattr(error, "orig", None) or error
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    lowered = message.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return (
            f"database {db_name} is corrupt or not a SQLite database ({message}); "
            "move it away or point [backend] db_uri at another file"
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return (
            f"cannot open database {db_name} for writing ({message}); "
            "check the path and its permissions"
        )
    if "locked" in lowered:
        return f"database {db_name} is locked by another process ({message}); try again later"
    return f"database {db_name}: {message}"
