"""The call-graph record in a SQL database (redun schema 3.5; SQLite or PostgreSQL)."""

from redun.backends.db.backend import RedunBackend
from redun.backends.db.versions import CURRENT_VERSION, DB_VERSIONS, DBVersion

__all__ = ["CURRENT_VERSION", "DB_VERSIONS", "DBVersion", "RedunBackend"]
