"""Redun schema 3.5: the whole call-graph record, as redun 0.44.1 leaves it.

This is the base revision of redun, rebuilt. It carries redun's own revision id
for schema 3.5, so databases made by redun 0.44.1 are current without migrating.

Revision ID: 0bee3d6dba76
Revises:
Create Date: 2024-01-01
"""

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0bee3d6dba76"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.String(40)
TIMESTAMP = sa.DateTime(timezone=True)


def _vpo(name: str, table: str, column: str, unique: bool = False) -> None:
    op.create_index(
        name, table, [column], unique=unique, postgresql_ops={column: "varchar_pattern_ops"}
    )


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"

    redun_version = op.create_table(
        "redun_version",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timestamp", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "task",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
    )
    op.create_table(
        "value",
        sa.Column("value_hash", HASH, primary_key=True),
        sa.Column("type", sa.String(100).with_variant(sa.String(), "postgresql"), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "call_node",
        sa.Column("call_hash", HASH, primary_key=True),
        sa.Column("task_name", sa.String(1024), nullable=False),
        sa.Column("task_hash", HASH, sa.ForeignKey("task.hash"), nullable=False),
        sa.Column("args_hash", HASH, nullable=False),
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), nullable=False),
        sa.Column("timestamp", TIMESTAMP, nullable=False),
    )
    _indexes("call_node", "task_hash", "value_hash")
    op.create_table(
        "file",
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), primary_key=True),
        sa.Column("path", sa.String(1024), nullable=False),
    )
    op.create_table(
        "handle",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("fullname", sa.String(1024), nullable=False),
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), nullable=False),
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("is_valid", sa.Boolean(), nullable=False),
    )
    _indexes("handle", "fullname", "value_hash")
    op.create_table(
        "subvalue",
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), primary_key=True),
        sa.Column("parent_value_hash", HASH, sa.ForeignKey("value.value_hash"), primary_key=True),
    )
    _indexes("subvalue", "parent_value_hash", "value_hash")
    op.create_table(
        "argument",
        sa.Column("arg_hash", HASH, primary_key=True),
        sa.Column("call_hash", HASH, sa.ForeignKey("call_node.call_hash"), nullable=False),
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), nullable=False),
        sa.Column("arg_position", sa.Integer(), nullable=True),
        sa.Column("arg_key", sa.String(100), nullable=True),
    )
    _indexes("argument", "call_hash", "value_hash")
    op.create_table(
        "call_edge",
        sa.Column("parent_id", HASH, sa.ForeignKey("call_node.call_hash"), primary_key=True),
        sa.Column("child_id", HASH, sa.ForeignKey("call_node.call_hash"), primary_key=True),
        sa.Column("call_order", sa.Integer(), primary_key=True),
    )
    _indexes("call_edge", "child_id", "parent_id")
    op.create_table(
        "call_subtree_task",
        sa.Column("call_hash", HASH, sa.ForeignKey("call_node.call_hash"), primary_key=True),
        sa.Column("task_hash", HASH, sa.ForeignKey("task.hash"), primary_key=True),
    )
    _indexes("call_subtree_task", "call_hash", "task_hash")
    op.create_table(
        "handle_edge",
        sa.Column("parent_id", HASH, sa.ForeignKey("handle.hash"), primary_key=True),
        sa.Column("child_id", HASH, sa.ForeignKey("handle.hash"), primary_key=True),
    )
    _indexes("handle_edge", "child_id", "parent_id")
    op.create_table(
        "argument_result",
        sa.Column("arg_hash", HASH, sa.ForeignKey("argument.arg_hash"), primary_key=True),
        sa.Column(
            "result_call_hash", HASH, sa.ForeignKey("call_node.call_hash"), primary_key=True
        ),
    )
    _indexes("argument_result", "arg_hash", "result_call_hash")

    # execution and job reference each other: SQLite takes both keys inline,
    # PostgreSQL gets execution's key once job exists.
    execution_keys = [] if is_postgres else [sa.ForeignKeyConstraint(["job_id"], ["job.id"])]
    op.create_table(
        "execution",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("args", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("updated_time", TIMESTAMP, nullable=True),
        *execution_keys,
    )
    _indexes("execution", "job_id")
    op.create_table(
        "evaluation",
        sa.Column("eval_hash", HASH, primary_key=True),
        sa.Column("task_hash", HASH, sa.ForeignKey("task.hash"), nullable=False),
        sa.Column("args_hash", HASH, nullable=False),
        sa.Column("value_hash", HASH, sa.ForeignKey("value.value_hash"), nullable=False),
    )
    _indexes("evaluation", "task_hash", "value_hash")
    _vpo("ix_call_node_call_hash_vpo", "call_node", "call_hash", unique=True)
    _vpo("ix_execution_id_vpo", "execution", "id", unique=True)
    op.create_index("ix_file_path", "file", ["path"])
    _vpo("ix_task_hash_vpo", "task", "hash", unique=True)
    _vpo("ix_task_name_vpo", "task", "name")
    _vpo("ix_task_namespace_vpo", "task", "namespace")
    _vpo("ix_value_value_hash_vpo", "value", "value_hash", unique=True)

    op.create_table(
        "job",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("start_time", TIMESTAMP, nullable=False),
        sa.Column("end_time", TIMESTAMP, nullable=True),
        sa.Column("task_hash", HASH, sa.ForeignKey("task.hash"), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("call_hash", HASH, sa.ForeignKey("call_node.call_hash"), nullable=True),
        sa.Column("parent_id", sa.String(), sa.ForeignKey("job.id"), nullable=True),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["execution.id"],
            name="ct_job_execution_id",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    _indexes("job", "call_hash", "parent_id", "execution_id", "task_hash")
    _vpo("ix_job_id_vpo", "job", "id", unique=True)
    if is_postgres:
        op.create_foreign_key("execution_job_id_fkey", "execution", "job", ["job_id"], ["id"])

    op.create_table(
        "tag",
        sa.Column("tag_hash", HASH, primary_key=True),
        sa.Column(
            "entity_type",
            sa.Enum(
                "Execution", "Job", "CallNode", "Task", "Value", "Null",
                name="tagentity", create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
    )
    _indexes("tag", "entity_id", "key", "value")
    op.create_index(
        "ix_tag_tag_hash_current",
        "tag",
        ["tag_hash"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.create_table(
        "tag_edit",
        sa.Column("parent_id", sa.String(), sa.ForeignKey("tag.tag_hash"), primary_key=True),
        sa.Column("child_id", sa.String(), sa.ForeignKey("tag.tag_hash"), primary_key=True),
    )
    _indexes("job", "end_time", "start_time")
    op.create_index("ix_value_type", "value", ["type"])

    # As redun does: one row recording the schema's major version and creation time.
    now = dt.datetime.now(dt.timezone.utc)
    if not is_postgres:
        now = now.replace(tzinfo=None)  # naive UTC on SQLite
    op.bulk_insert(redun_version, [{"id": str(uuid.uuid4()), "version": 3, "timestamp": now}])


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    if is_postgres:
        op.drop_constraint("execution_job_id_fkey", "execution", type_="foreignkey")
    for table in (
        "tag_edit", "tag", "job", "evaluation", "execution", "argument_result", "handle_edge",
        "call_subtree_task", "call_edge", "argument", "subvalue", "handle", "file", "call_node",
        "value", "task", "redun_version",
    ):
        op.drop_table(table)
    if is_postgres:
        op.execute("DROP TYPE IF EXISTS tagentity")
