"""SQLAlchemy engines on the record: for PostgreSQL, and for queries on SQLite.

Importing this module imports SQLAlchemy; the SQLite hot path never does
(see :mod:`redun.backends.db.sqlite`).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from redun.backends.base import BackendError
from redun.backends.db.errors import describe_error
from redun.backends.db.sqlite import BUSY_TIMEOUT, configure

__all__ = [
    "describe_error",
    "postgres_engine",
    "shared_connection_engine",
    "sqlite_file_engine",
]


def sqlite_file_engine(path: str) -> Engine:
    """An engine on the SQLite file at ``path``, with the record's pragmas."""
    engine = create_engine(
        URL.create("sqlite", database=path), connect_args={"timeout": BUSY_TIMEOUT}
    )
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    configure(dbapi_connection)


def shared_connection_engine(conn: sqlite3.Connection) -> Engine:
    """An engine whose only connection is ``conn`` (an in-memory database shared by all)."""
    return create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)


# Where PostgreSQL credentials come from (as redun 0.4x): these environment variables, or
# the ones named by [backend] db_username_env / db_password_env.
USERNAME_ENV = "REDUN_DB_USERNAME"
PASSWORD_ENV = "REDUN_DB_PASSWORD"


def with_credentials(url: URL, config: Mapping[str, str] | None = None) -> URL:
    """``url`` with the user name and password from the environment, when set there."""
    config = config or {}
    username = os.environ.get(config.get("db_username_env") or USERNAME_ENV) or url.username
    password = os.environ.get(config.get("db_password_env") or PASSWORD_ENV) or url.password
    return url.set(username=username, password=password)


def postgres_engine(db_uri: str, db_name: str, config: Mapping[str, str] | None = None) -> Engine:
    """An engine for a PostgreSQL URI, naming an installed driver when the URI names none.

    Credentials come from the environment (see :func:`with_credentials`); ``db_name``,
    the URI as shown to users, never holds a password.
    """
    try:
        url = with_credentials(make_url(db_uri), config)
    except ArgumentError:
        raise BackendError(
            f"cannot parse db_uri {db_name!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    try:
        return create_engine(_postgres_driver(url), pool_pre_ping=True)
    except ImportError as error:
        raise BackendError(
            f"the driver for {db_name!r} is not installed ({error}); install it"
        ) from None


def _postgres_driver(url: URL) -> URL:
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
