"""Schema versions of the record and the alembic migrations that reach them.

redun 0.44.1 tracks its schema with alembic revisions; we keep its revision ids.
Our migration history starts at schema 3.5 (``0bee3d6dba76``), so a database at
an older revision must first be upgraded with redun 0.44.1 itself. Running the
migrations (SQLAlchemy and alembic) lives in :mod:`redun.backends.db.migrate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from redun.backends.base import BackendError


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


def not_redun_error() -> BackendError:
    """The error for a database that holds tables but no redun schema version."""
    return BackendError(
        "the database has tables but no redun schema version, so it is not a redun "
        "database; point [backend] db_uri at a new file or an existing redun database"
    )


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
