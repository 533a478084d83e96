"""Fencing tokens: each lease carries the generation it was taken at.

``leases.generation`` changes every time a lease is taken (never on a renewal), so a
daemon that lost its lease while it was stalled, and resumed, cannot record a page:
:meth:`Store.commit_page` checks, in the page's own transaction, that the lease is
still held by that daemon at that generation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``leases.generation`` (0 for the leases held now)."""
    with op.batch_alter_table("leases") as batch:
        batch.add_column(
            sa.Column("generation", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop ``leases.generation``."""
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("generation")
