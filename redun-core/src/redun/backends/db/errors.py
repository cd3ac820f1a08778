"""One-line explanations of database errors (sqlite3, SQLAlchemy or a PostgreSQL driver)."""

from __future__ import annotations

import sqlite3

_DRIVER_MODULES = ("sqlalchemy.", "psycopg2", "psycopg.", "alembic.")


def is_database_error(error: BaseException) -> bool:
    """Whether ``error`` comes from the database, its driver or the file system."""
    if isinstance(error, (OSError, sqlite3.Error)):
        return True
    return any(
        cls.__module__.startswith(_DRIVER_MODULES) or cls.__module__ in ("psycopg", "sqlalchemy")
        for cls in type(error).__mro__
    )


def describe_error(error: BaseException, db_name: str) -> str:
    """A one-line explanation of a database error."""
    if not is_database_error(error):
        return str(error)
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip()
    message = text.splitlines()[0] if text else type(orig).__name__
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
