"""Each run names the process running it, so a run whose process is gone can be closed.

``runs.owner`` is the lease holder name of the process that runs it (host, pid, PID
namespace, boot). A run left ``running`` by a process killed mid-run, or whose finish
met a store outage, is closed as ``interrupted`` by the next holder of the zap's lease
once that process is known to be gone. ``ix_runs_zap_id`` holds only the open runs.
Runs recorded before this revision have no owner and are left as they are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    """Add ``runs.owner`` and the partial index of the open runs."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
    op.create_index(
        "ix_runs_zap_id", "runs", ["zap_id"], sqlite_where=RUNNING, postgresql_where=RUNNING
    )


def downgrade() -> None:
    """Drop the index and ``runs.owner``."""
    op.drop_index("ix_runs_zap_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("owner")
