"""Records pushed to instant triggers, kept until delivered (``received``).

One row per record an instant trigger's route stored (a Salesforce outbound message's
notification), unique per zap and dedup key, marked delivered in the transaction that
records its task, and kept a day longer so that a repeated message is recognised.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration must keep producing the same tables when the schema moves on).
TIMESTAMP = sa.DateTime(timezone=True)
ZAP_ID = sa.String(200)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the ``received`` table and its index of undelivered rows."""
    op.create_table(
        "received",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_received"),
        sa.UniqueConstraint("zap_id", "key", name="uq_received_zap_id_key"),
    )
    op.create_index("ix_received_zap_id_delivered_at", "received", ["zap_id", "delivered_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_received_zap_id_delivered_at", table_name="received")
    op.drop_table("received")
