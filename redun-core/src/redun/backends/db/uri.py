"""Reading a ``db_uri`` without SQLAlchemy: which database, and for SQLite which file.

SQLite URIs are handled here in full (the hot path never imports SQLAlchemy);
other databases keep their URI for SQLAlchemy to parse when they are opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redun.backends.base import BackendError

MEMORY_URI = "sqlite://"
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")
_PASSWORD = r"^(?P<head>[^:/?#@]*://[^:/?#@]*):[^@/]*@"


@dataclass(frozen=True)
class DBUri:
    """A parsed ``db_uri``: ``backend`` is ``sqlite``, ``postgresql``, ...

    ``path`` is the SQLite file (None for an in-memory database or another backend).
    """

    uri: str
    backend: str
    path: str | None
    display: str

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def is_memory(self) -> bool:
        """Whether this names an in-memory SQLite database."""
        return self.is_sqlite and self.path is None


def _cannot_parse(db_uri: str) -> BackendError:
    return BackendError(
        f"cannot parse db_uri {db_uri!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def parse_db_uri(db_uri: str) -> DBUri:
    """Parse ``db_uri``; raises BackendError for one that is not a database URI."""
    db_uri = db_uri.strip()
    scheme, separator, rest = db_uri.partition("://")
    scheme = scheme.lower()
    if not separator or not scheme[:1].isalpha() or not _SCHEME_CHARS.issuperset(scheme):
        raise _cannot_parse(db_uri)
    backend = scheme.split("+", 1)[0]
    if backend != "sqlite":
        display = re.sub(_PASSWORD, r"\g<head>:***@", db_uri)
        return DBUri(db_uri, backend, None, display)
    if rest and not rest.startswith("/"):
        raise _cannot_parse(db_uri)
    if "?" in rest:
        raise BackendError(
            f"db_uri {db_uri!r} has options after '?', which redun does not support for "
            "SQLite; use sqlite:///PATH"
        )
    database = rest[1:]
    if "%" in database:
        from urllib.parse import unquote

        database = unquote(database)
    path = None if database in ("", ":memory:") else database
    return DBUri(db_uri, "sqlite", path, db_uri)
