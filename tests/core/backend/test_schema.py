"""The schema we create is redun 0.44.1's schema 3.5, and its versions are checked on load."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from redun.backends.base import BackendError
from redun.backends.db import CURRENT_VERSION, DB_VERSIONS, RedunBackend, migrate
from redun.backends.db import sqlite as sqlite_module
from redun.backends.db.models import Base


def schema_of(path: Path) -> dict[str, Any]:
    """Tables (columns, primary key, foreign keys) and indexes of a SQLite file, comparable."""
    engine = create_engine(f"sqlite:///{path}")
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    for table in inspector.get_table_names():
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        fks = sorted(
            (
                fk["name"] or "",
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                tuple(sorted(fk["options"].items())),
            )
            for fk in inspector.get_foreign_keys(table)
        )
        pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        schema[table] = {"columns": columns, "pk": pk, "fks": fks}
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        schema["indexes"] = sorted(
            (name, table, " ".join(sql.split())) for name, table, sql in rows
        )
    engine.dispose()
    return schema


@pytest.fixture
def reference_schema_db(tmp_path: Path, reference_schema_sql: str) -> Path:
    """An empty database with the schema redun 0.44.1 creates (from the stored dump)."""
    path = tmp_path / "reference_schema.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(reference_schema_sql)
    return path


def test_fresh_database_has_reference_schema(
    backend: RedunBackend, db_path: Path, reference_schema_db: Path
) -> None:
    ours, reference = schema_of(db_path), schema_of(reference_schema_db)
    assert ours.keys() == reference.keys()
    for key in reference:
        assert ours[key] == reference[key], key
    job_fks = {fk[0]: fk for fk in ours["job"]["fks"]}
    assert job_fks["ct_job_execution_id"][4] == (("deferrable", True), ("initially", "DEFERRED"))
    assert (
        "ix_tag_tag_hash_current",
        "tag",
        "CREATE UNIQUE INDEX ix_tag_tag_hash_current ON tag (tag_hash) WHERE is_current",
    ) in ours["indexes"]


def sqlite_master(path: Path) -> list[tuple]:
    """Every schema object of a SQLite file, in creation order, with its stored SQL."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid"
        ).fetchall()


def test_static_schema_script_matches_alembic_migration(
    tmp_path: Path, reference_schema_db: Path
) -> None:
    # New SQLite records run schema/sqlite_3_5.sql instead of the migration: they must not drift.
    migrated = tmp_path / "migrated.db"
    engine = create_engine(f"sqlite:///{migrated}")
    with engine.begin() as conn:
        migrate.run_migrations(conn)
    engine.dispose()
    scripted = tmp_path / "scripted.db"
    backend = RedunBackend(f"sqlite:///{scripted}")
    backend.load()
    backend.close()
    objects = sqlite_master(scripted)
    assert len(objects) > 60 and objects == sqlite_master(migrated)
    assert schema_of(scripted) == schema_of(reference_schema_db)
    for path in (migrated, scripted):
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT version, timestamp FROM redun_version").fetchall()
            assert conn.execute("SELECT * FROM alembic_version").fetchall() == [("0bee3d6dba76",)]
        assert [version for version, _ in rows] == [3]
        assert len(rows[0][1]) == len("2024-01-01 00:00:00.000000")


def test_schema_created_meanwhile_by_another_process(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between our first look (no tables) and our write lock, another process creates the schema.
    other = RedunBackend(f"sqlite:///{db_path}")
    original = sqlite_module.read_revision
    looks: list[str | None] = []

    def racing(conn: sqlite3.Connection) -> str | None:
        revision = original(conn)
        looks.append(revision)
        if len(looks) == 1:
            other.load()
        return revision

    monkeypatch.setattr(sqlite_module, "read_revision", racing)
    backend = RedunBackend(f"sqlite:///{db_path}")
    assert backend.upgrade() == (CURRENT_VERSION.revision, CURRENT_VERSION.revision)
    assert looks[0] is None and looks[-1] == CURRENT_VERSION.revision
    backend.close()
    other.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM redun_version").fetchone() == (1,)


def test_empty_file_gets_the_schema(db_path: Path) -> None:
    db_path.write_bytes(b"")
    backend = RedunBackend(f"sqlite:///{db_path}")
    assert backend.get_db_revision() is None
    assert backend.upgrade() == (None, CURRENT_VERSION.revision)
    assert backend.get_db_revision() == CURRENT_VERSION.revision
    backend.close()


def test_fresh_database_version_rows(backend: RedunBackend, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0bee3d6dba76",)
        ]
        rows = conn.execute("SELECT id, version, timestamp FROM redun_version").fetchall()
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert len(rows) == 1
    row_id, version, timestamp = rows[0]
    assert len(row_id) == 36 and version == 3
    assert len(timestamp) == len("2024-01-01 00:00:00.000000")


def test_models_match_migration(backend: RedunBackend) -> None:
    with backend.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_postgresql_ddl_uses_pattern_ops_and_partial_index() -> None:
    dialect = postgresql.dialect()
    tables = Base.metadata.tables
    ddl = "\n".join(
        str(CreateIndex(index).compile(dialect=dialect))
        for table in tables.values()
        for index in table.indexes
    )
    assert "CREATE UNIQUE INDEX ix_job_id_vpo ON job (id varchar_pattern_ops)" in ddl
    assert "CREATE INDEX ix_task_name_vpo ON task (name varchar_pattern_ops)" in ddl
    assert "ON tag (tag_hash) WHERE is_current" in ddl
    tag = str(CreateTable(tables["tag"]).compile(dialect=dialect))
    assert "value JSONB NOT NULL" in tag and "entity_type tagentity NOT NULL" in tag
    job = str(CreateTable(tables["job"]).compile(dialect=dialect))
    assert "start_time TIMESTAMP WITH TIME ZONE NOT NULL" in job
    assert "CONSTRAINT ct_job_execution_id" in job and "DEFERRABLE INITIALLY DEFERRED" in job


def test_reference_database_is_current(reference_db: Path) -> None:
    backend = RedunBackend(f"sqlite:///{reference_db}")
    assert backend.get_db_revision() == CURRENT_VERSION.revision
    backend.load()
    backend.close()
    with sqlite3.connect(reference_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0bee3d6dba76",
        )


def _with_revision(path: Path, revision: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_old_schema_is_refused_with_upgrade_instructions(reference_db: Path) -> None:
    _with_revision(reference_db, "3b0a6e67cc58")
    with pytest.raises(BackendError) as info:
        RedunBackend(f"sqlite:///{reference_db}").load()
    message = str(info.value)
    assert "schema 3.4" in message and "pip install redun==0.44.1 && redun db upgrade" in message
    assert "\n" not in message


def test_unknown_schema_is_refused(reference_db: Path) -> None:
    _with_revision(reference_db, "ffffffffffff")
    with pytest.raises(BackendError, match="does not know.*upgrade redun"):
        RedunBackend(f"sqlite:///{reference_db}").load()


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (id INTEGER)")
    with pytest.raises(BackendError, match="not a redun database"):
        RedunBackend(f"sqlite:///{path}").load()


def test_version_table() -> None:
    assert [str(v) for v in DB_VERSIONS][:3] == ["1.0", "2.0", "2.1"]
    assert DB_VERSIONS[-1].revision == "0bee3d6dba76" and str(DB_VERSIONS[-1]) == "3.5"
    assert len({v.revision for v in DB_VERSIONS}) == 11
