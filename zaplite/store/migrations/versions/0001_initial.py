"""The initial store: zaps, cursors, dedup keys, trigger state, runs, tasks, leases.

Revision ID: 0001
Revises:
Create Date: 2026-05-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types this revision creates (never import them from schema.py:
# a migration must keep producing the same tables when the schema moves on).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ZAP_ID = sa.String(200)


def upgrade() -> None:
    """Create every table and index of the first release."""
    op.create_table(
        "zaps",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", TIMESTAMP, nullable=True),
        sa.Column("auth_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("samples", JSON, nullable=True),
        sa.Column("samples_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("zap_id", name="pk_zaps"),
    )
    op.create_table(
        "zap_cursors",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("cursor", JSON, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("zap_id", name="pk_zap_cursors"),
    )
    op.create_table(
        "zap_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("watermark", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_zap_keys"),
        sa.UniqueConstraint("zap_id", "key", name="uq_zap_keys_zap_id_key"),
    )
    op.create_index("ix_zap_keys_zap_id_watermark", "zap_keys", ["zap_id", "watermark"])
    op.create_table(
        "zap_state",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.PrimaryKeyConstraint("zap_id", "key", name="pk_zap_state"),
    )
    op.create_table(
        "runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("found", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("filtered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_zap_id_id", "runs", ["zap_id", "id"])
    op.create_table(
        "tasks",
        sa.Column("id", ID, nullable=False),
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_tasks_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_zap_id_status_id", "tasks", ["zap_id", "status", "id"])
    op.create_index("ix_tasks_zap_id_id", "tasks", ["zap_id", "id"])
    op.create_index("ix_tasks_status_id", "tasks", ["status", "id"])
    op.create_index("ix_tasks_run_id", "tasks", ["run_id"])
    op.create_table(
        "leases",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("zap_id", name="pk_leases"),
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    op.drop_table("leases")
    op.drop_index("ix_tasks_run_id", table_name="tasks")
    op.drop_index("ix_tasks_status_id", table_name="tasks")
    op.drop_index("ix_tasks_zap_id_id", table_name="tasks")
    op.drop_index("ix_tasks_zap_id_status_id", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_runs_zap_id_id", table_name="runs")
    op.drop_table("runs")
    op.drop_table("zap_state")
    op.drop_index("ix_zap_keys_zap_id_watermark", table_name="zap_keys")
    op.drop_table("zap_keys")
    op.drop_table("zap_cursors")
    op.drop_table("zaps")
