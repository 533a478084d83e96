"""API calls per connection and hour (zaplite's share of a service's daily allowance).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``api_calls``."""
    op.create_table(
        "api_calls",
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "hour", name="pk_api_calls"),
    )


def downgrade() -> None:
    """Drop ``api_calls``."""
    op.drop_table("api_calls")
