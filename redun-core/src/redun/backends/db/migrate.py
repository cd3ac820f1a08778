"""Creating and checking the schema through SQLAlchemy and alembic (PostgreSQL).

SQLite records never come here: :mod:`redun.backends.db.sqlite` creates them
from a static script that tests keep identical to the migration's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect

from redun.backends.db.versions import CURRENT_VERSION, check_revision, not_redun_error

if TYPE_CHECKING:  # alembic is imported only when a schema is created
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SCHEMA_LOCK_ID = 0x72656475  # "redu": the advisory lock held while the schema is created


def alembic_config(connection: Connection) -> Config:
    """An alembic Config built in code, running migrations on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def run_migrations(connection: Connection) -> None:
    """Migrate the database behind ``connection`` to the newest revision."""
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def get_revision(connection: Connection) -> str | None:
    """The database's alembic revision, or None for a database without tables.

    Raises BackendError for a database holding other tables but no redun revision.
    """
    tables = inspect(connection).get_table_names()
    revision = None
    if "alembic_version" in tables:
        revisions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        revision = next(iter(revisions), None)
    if revision is None and tables:
        raise not_redun_error()
    return revision


def upgrade_schema(connection: Connection, db_name: str) -> tuple[str | None, str]:
    """Create the schema in an empty database or check an existing one.

    Returns (revision before, revision after). Run inside a transaction.
    """
    if connection.dialect.name == "postgresql":
        # Schedulers starting together on a new database: one creates the schema, the
        # others wait here (until its transaction commits) and then find it.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_ID})")
    before = get_revision(connection)
    if before is not None:
        check_revision(before, db_name)
        return before, before
    run_migrations(connection)
    return None, CURRENT_VERSION.revision
