"""SQLAlchemy models of the call-graph record: redun schema 3.5 (alembic 0bee3d6dba76).

Table, column, constraint and index names, types and nullability match what
redun 0.44.1 leaves in a database, so databases are shared both ways.
Timestamps are naive UTC on SQLite and ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from redun.backends.db.rawsql import ERROR_VALUE_TYPE, json_text

__all__ = ["ERROR_VALUE_TYPE", "TABLES", "Base"]

HASH = String(40)
TAG_ENTITY_TYPES = ("Execution", "Job", "CallNode", "Task", "Value", "Null")


class UTCDateTime(TypeDecorator):
    """A UTC timestamp: naive UTC on SQLite, timezone-aware on PostgreSQL; reads as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value if dialect.name == "sqlite" else value.replace(tzinfo=dt.timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value


class JSONText(TypeDecorator):
    """A JSON document: JSONB on PostgreSQL, JSON-encoded VARCHAR elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value if dialect.name == "postgresql" else json_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        return json.loads(value)


def _vpo(name: str, column: str, unique: bool = False) -> Index:
    """An index for id-prefix search (``varchar_pattern_ops`` on PostgreSQL)."""
    return Index(name, column, unique=unique, postgresql_ops={column: "varchar_pattern_ops"})


class Base(DeclarativeBase):
    """Declarative base holding the record's metadata."""


class RedunVersion(Base):
    __tablename__ = "redun_version"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        _vpo("ix_task_hash_vpo", "hash", unique=True),
        _vpo("ix_task_name_vpo", "name"),
        _vpo("ix_task_namespace_vpo", "namespace"),
    )

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    name: Mapped[str] = mapped_column(String, nullable=False)
    namespace: Mapped[str] = mapped_column(String, nullable=False)
    source: Mapped[str] = mapped_column(String, nullable=False)


class Value(Base):
    __tablename__ = "value"
    __table_args__ = (
        _vpo("ix_value_value_hash_vpo", "value_hash", unique=True),
        Index("ix_value_type", "type"),
    )

    value_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    # 3.2 lifted the length limit on PostgreSQL only; SQLite files keep VARCHAR(100).
    type: Mapped[str] = mapped_column(String(100).with_variant(String(), "postgresql"))
    format: Mapped[str] = mapped_column(String(100), nullable=False)
    value: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class CallNode(Base):
    __tablename__ = "call_node"
    __table_args__ = (_vpo("ix_call_node_call_hash_vpo", "call_hash", unique=True),)

    call_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    task_name: Mapped[str] = mapped_column(String(1024), nullable=False)
    task_hash: Mapped[str] = mapped_column(HASH, ForeignKey("task.hash"), index=True)
    args_hash: Mapped[str] = mapped_column(HASH, nullable=False)
    value_hash: Mapped[str] = mapped_column(HASH, ForeignKey("value.value_hash"), index=True)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class File(Base):
    __tablename__ = "file"

    value_hash: Mapped[str] = mapped_column(HASH, ForeignKey("value.value_hash"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), nullable=False, index=True)


class Handle(Base):
    __tablename__ = "handle"

    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    fullname: Mapped[str] = mapped_column(String(1024), nullable=False, index=True)
    value_hash: Mapped[str] = mapped_column(HASH, ForeignKey("value.value_hash"), index=True)
    key: Mapped[str] = mapped_column(String(1024), nullable=False)
    is_valid: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Subvalue(Base):
    __tablename__ = "subvalue"

    value_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("value.value_hash"), primary_key=True, index=True
    )
    parent_value_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("value.value_hash"), primary_key=True, index=True
    )


class Argument(Base):
    __tablename__ = "argument"

    arg_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    call_hash: Mapped[str] = mapped_column(HASH, ForeignKey("call_node.call_hash"), index=True)
    value_hash: Mapped[str] = mapped_column(HASH, ForeignKey("value.value_hash"), index=True)
    arg_position: Mapped[int | None] = mapped_column(Integer)
    arg_key: Mapped[str | None] = mapped_column(String(100))


class CallEdge(Base):
    __tablename__ = "call_edge"

    parent_id: Mapped[str] = mapped_column(
        HASH, ForeignKey("call_node.call_hash"), primary_key=True, index=True
    )
    child_id: Mapped[str] = mapped_column(
        HASH, ForeignKey("call_node.call_hash"), primary_key=True, index=True
    )
    call_order: Mapped[int] = mapped_column(Integer, primary_key=True)


class CallSubtreeTask(Base):
    __tablename__ = "call_subtree_task"

    call_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("call_node.call_hash"), primary_key=True, index=True
    )
    task_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("task.hash"), primary_key=True, index=True
    )


class HandleEdge(Base):
    __tablename__ = "handle_edge"

    parent_id: Mapped[str] = mapped_column(
        HASH, ForeignKey("handle.hash"), primary_key=True, index=True
    )
    child_id: Mapped[str] = mapped_column(
        HASH, ForeignKey("handle.hash"), primary_key=True, index=True
    )


class ArgumentResult(Base):
    __tablename__ = "argument_result"

    arg_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("argument.arg_hash"), primary_key=True, index=True
    )
    result_call_hash: Mapped[str] = mapped_column(
        HASH, ForeignKey("call_node.call_hash"), primary_key=True, index=True
    )


class Execution(Base):
    __tablename__ = "execution"
    __table_args__ = (_vpo("ix_execution_id_vpo", "id", unique=True),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    args: Mapped[str] = mapped_column(String, nullable=False)
    # execution and job reference each other; PostgreSQL adds this key after both exist.
    job_id: Mapped[str] = mapped_column(
        String, ForeignKey("job.id", use_alter=True, name="execution_job_id_fkey"), index=True
    )
    updated_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Evaluation(Base):
    __tablename__ = "evaluation"

    eval_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    task_hash: Mapped[str] = mapped_column(HASH, ForeignKey("task.hash"), index=True)
    args_hash: Mapped[str] = mapped_column(HASH, nullable=False)
    value_hash: Mapped[str] = mapped_column(HASH, ForeignKey("value.value_hash"), index=True)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        ForeignKeyConstraint(
            ["execution_id"],
            ["execution.id"],
            name="ct_job_execution_id",
            deferrable=True,
            initially="DEFERRED",
        ),
        _vpo("ix_job_id_vpo", "id", unique=True),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    task_hash: Mapped[str] = mapped_column(HASH, ForeignKey("task.hash"), index=True)
    cached: Mapped[bool] = mapped_column(Boolean, nullable=False)
    call_hash: Mapped[str | None] = mapped_column(
        HASH, ForeignKey("call_node.call_hash"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column(String, ForeignKey("job.id"), index=True)
    execution_id: Mapped[str] = mapped_column(String, nullable=False, index=True)


class Tag(Base):
    __tablename__ = "tag"
    __table_args__ = (
        Index(
            "ix_tag_tag_hash_current",
            "tag_hash",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    tag_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    entity_type: Mapped[str] = mapped_column(
        Enum(*TAG_ENTITY_TYPES, name="tagentity", create_constraint=False), nullable=False
    )
    entity_id: Mapped[str] = mapped_column(String, nullable=False, index=True)
    key: Mapped[str] = mapped_column(String, nullable=False, index=True)
    value: Mapped[Any] = mapped_column(JSONText, nullable=False, index=True)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TagEdit(Base):
    __tablename__ = "tag_edit"

    parent_id: Mapped[str] = mapped_column(String, ForeignKey("tag.tag_hash"), primary_key=True)
    child_id: Mapped[str] = mapped_column(String, ForeignKey("tag.tag_hash"), primary_key=True)


TABLES = Base.metadata.tables
