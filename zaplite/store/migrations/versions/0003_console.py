"""The console's reads: hourly task counts, connection status, tasks by record key.

- ``task_hours``: tasks per zap, hour and status, filled from the existing tasks, so
  the console's 24-hour counts and charts read a few hundred rows, not every task.
- ``connection_status``: each connection's last sign-in that worked, last error and
  API usage, as the daemons sharing the store saw them.
- ``ix_tasks_record_key``: the search by record id (``text_pattern_ops`` on
  PostgreSQL, so that a prefix ``LIKE`` uses it whatever the collation). The key alone:
  an index starting with ``zap_id`` would compete with ``(zap_id, id)`` for a zap's
  newest tasks, and SQLite's planner picks it, sorting half a million rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration must keep producing the same tables when the schema moves on).
TIMESTAMP = sa.DateTime(timezone=True)
ZAP_ID = sa.String(200)


def upgrade() -> None:
    """Create the console's tables and index, and count the existing tasks by hour."""
    op.create_table(
        "task_hours",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("hour", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zap_id", "hour", "status", name="pk_task_hours"),
    )
    op.create_index("ix_task_hours_hour", "task_hours", ["hour"])
    op.create_table(
        "connection_status",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("last_ok_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", TIMESTAMP, nullable=True),
        sa.Column("usage_used", sa.BigInteger(), nullable=True),
        sa.Column("usage_limit", sa.BigInteger(), nullable=True),
        sa.Column("usage_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_connection_status"),
    )
    op.create_index(
        "ix_tasks_record_key",
        "tasks",
        ["record_key"],
        postgresql_ops={"record_key": "text_pattern_ops"},
    )
    if op.get_bind().dialect.name == "sqlite":
        # Timestamps are naive UTC text ("2026-12-06 11:29:22.123456") on SQLite.
        hour = "strftime('%Y-%m-%d %H:00:00.000000', created_at)"
    else:
        hour = "date_trunc('hour', created_at)"
    op.execute(
        f"INSERT INTO task_hours (zap_id, hour, status, count) "
        f"SELECT zap_id, {hour}, status, count(*) FROM tasks GROUP BY zap_id, {hour}, status"
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_tasks_record_key", table_name="tasks")
    op.drop_table("connection_status")
    op.drop_index("ix_task_hours_hour", table_name="task_hours")
    op.drop_table("task_hours")
