"""Reading db_uri without SQLAlchemy: the SQLite file, in-memory databases, hidden passwords."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from redun.backends.base import BackendError
from redun.backends.db.uri import parse_db_uri


@pytest.mark.parametrize(
    "db_uri, path",
    [
        ("sqlite:///redun.db", "redun.db"),
        ("sqlite:////abs/dir/redun.db", "/abs/dir/redun.db"),
        ("sqlite:///with%20space.db", "with space.db"),
        ("sqlite+pysqlite:///x.db", "x.db"),
        ("  sqlite:///.redun/redun.db\n", ".redun/redun.db"),
        ("sqlite://", None),
        ("sqlite:///", None),
        ("sqlite:///:memory:", None),
    ],
)
def test_sqlite_paths_match_sqlalchemy(db_uri: str, path: str | None) -> None:
    uri = parse_db_uri(db_uri)
    assert uri.is_sqlite and uri.path == path and uri.is_memory == (path is None)
    assert (make_url(db_uri.strip()).database or None) in (path, ":memory:")


def test_other_databases_hide_the_password() -> None:
    uri = parse_db_uri("postgresql+psycopg2://me:s3cret@db.example:5432/redun")
    assert (uri.backend, uri.path, uri.is_sqlite) == ("postgresql", None, False)
    assert uri.display == "postgresql+psycopg2://me:***@db.example:5432/redun"
    assert parse_db_uri("postgresql://db/redun").display == "postgresql://db/redun"


@pytest.mark.parametrize(
    "db_uri, message",
    [
        ("not a uri", "cannot parse db_uri"),
        ("://x.db", "cannot parse db_uri"),
        ("sqlite://host/x.db", "cannot parse db_uri"),
        ("sqlite:///x.db?timeout=5", "options after '\\?'.*use sqlite:///PATH"),
    ],
)
def test_bad_uris(db_uri: str, message: str) -> None:
    with pytest.raises(BackendError, match=message):
        parse_db_uri(db_uri)
