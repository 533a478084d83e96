"""The credential vault: encrypted connection secrets, and the row that checks the key.

- ``vault_secrets``: one row per connection and secret name, the value encrypted by the
  project's vault key (never plain text), a version that grows with each replacement and
  a claim that lets one daemon at a time exchange a rotating refresh token.
- ``vault_key``: one known text encrypted under the key, to tell a wrong key apart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the vault's two tables."""
    op.create_table(
        "vault_secrets",
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("connection", "name", name="pk_vault_secrets"),
    )
    op.create_table(
        "vault_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("check_token", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vault_key"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("vault_key")
    op.drop_table("vault_secrets")
