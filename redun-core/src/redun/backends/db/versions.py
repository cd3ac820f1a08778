"""Schema versions of the record and the alembic migrations that reach them.

redun 0.44.1 tracks its schema with alembic revisions; we keep its revision ids.
Our migration history starts at schema 3.5 (``0bee3d6dba76``), so a database at
an older revision must first be upgraded with redun 0.44.1 itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, inspect

from redun.backends.base import BackendError
from redun.backends.db.batch import utcnow
from redun.backends.db.models import TABLES

if TYPE_CHECKING:  # alembic is imported only when a schema is created or migrated
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class DBVersion:
    """One schema version: its alembic revision, major.minor number and description."""

    revision: str
    major: int
    minor: int
    description: str

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


DB_VERSIONS: list[DBVersion] = [
    DBVersion("806f5dcb11bf", 1, 0, "Prototype schema."),
    DBVersion("647c510a77b1", 2, 0, "Initial production schema."),
    DBVersion("30ffbaee18cd", 2, 1, "Backfill companion values for tasks"),
    DBVersion("71ec303c90e4", 2, 2, "Add indexes for id prefix search"),
    DBVersion("d4af139b6f53", 2, 3, "Add job.execution_id"),
    DBVersion("cd2d53191748", 3, 0, "Make job.execution_id non-nullable"),
    DBVersion("cc4f663817b6", 3, 1, "Add Tag schemas."),
    DBVersion("eb7b95e4e8bf", 3, 2, "Remove length restriction on value type names."),
    DBVersion("f68b3aaee9cc", 3, 3, "Add job and value indexes."),
    DBVersion("3b0a6e67cc58", 3, 4, "Add UTC timezone to timestamps."),
    DBVersion("0bee3d6dba76", 3, 5, "Add updated_time."),
]
CURRENT_VERSION = DB_VERSIONS[-1]
# Versions whose databases this package reads and writes (our migrations start here).
SUPPORTED_REVISIONS = {CURRENT_VERSION.revision}
_BY_REVISION = {version.revision: version for version in DB_VERSIONS}


def find_version(revision: str) -> DBVersion | None:
    """The known schema version with this alembic revision, if any."""
    return _BY_REVISION.get(revision)


def alembic_config(connection: Connection) -> Config:
    """An alembic Config built in code, running migrations on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def get_revision(connection: Connection) -> str | None:
    """The database's alembic revision, or None for a database without redun tables.

    Raises BackendError for a database holding other tables but no redun revision.
    """
    tables = inspect(connection).get_table_names()
    revision = None
    if "alembic_version" in tables:
        revisions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        revision = next(iter(revisions), None)
    if revision is None and tables:
        raise BackendError(
            "the database has tables but no redun schema version, so it is not a redun "
            "database; point [backend] db_uri at a new file or an existing redun database"
        )
    return revision


def check_revision(revision: str, db_name: str) -> None:
    """Raise BackendError unless ``revision`` is a schema this package reads and writes."""
    if revision in SUPPORTED_REVISIONS:
        return
    version = find_version(revision)
    if version is not None:
        raise BackendError(
            f"database {db_name} uses redun schema {version} (revision {revision}), older than "
            f"{CURRENT_VERSION}; upgrade it once with redun 0.44.1 in a separate environment: "
            "`pip install redun==0.44.1 && redun db upgrade`"
        )
    raise BackendError(
        f"database {db_name} has schema revision {revision!r}, which this redun does not know "
        f"(newest known: {CURRENT_VERSION}); upgrade redun or use another db_uri"
    )


def upgrade_schema(connection: Connection, db_name: str) -> tuple[str | None, str]:
    """Create the schema in an empty database or check an existing one.

    Returns (revision before, revision after). Run inside a transaction.
    """
    global _sqlite_ddl
    before = get_revision(connection)
    if before is not None:
        check_revision(before, db_name)
        return before, before
    if connection.dialect.name == "sqlite" and _sqlite_ddl:
        _replay_sqlite_schema(connection, _sqlite_ddl)
    else:
        from alembic import command

        command.upgrade(alembic_config(connection), "head")
        if connection.dialect.name == "sqlite":
            _sqlite_ddl = tuple(
                connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
                ).scalars()
            )
    return None, CURRENT_VERSION.revision


# The DDL our migrations produced on the first new SQLite database of this process.
# Later new SQLite databases (e.g. each in-memory one) replay it: same schema, several times faster.
_sqlite_ddl: tuple[str, ...] = ()


def _replay_sqlite_schema(connection: Connection, ddl: tuple[str, ...]) -> None:
    for statement in ddl:
        connection.exec_driver_sql(statement)
    connection.execute(
        insert(TABLES["redun_version"]),
        {"id": str(uuid.uuid4()), "version": CURRENT_VERSION.major, "timestamp": utcnow()},
    )
    connection.exec_driver_sql(
        "INSERT INTO alembic_version (version_num) VALUES (?)", (CURRENT_VERSION.revision,)
    )
