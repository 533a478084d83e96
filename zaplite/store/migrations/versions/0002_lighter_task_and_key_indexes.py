"""Lighter writes: dedup keys keyed by (zap, key); status indexes of unsuccessful tasks only.

A page of a backlog records a task and a key per record. Before this revision that was
eight B-tree inserts per record; after it, five:

- ``zap_keys`` loses its surrogate ``id``: (zap_id, key) is the primary key, and on
  SQLite the table is ``WITHOUT ROWID``, so a key is one entry, not a row and an index.
- ``tasks`` status indexes hold only tasks that did not succeed (the ones listed by
  status: failed, filtered); ``ix_tasks_run_id`` goes (no query reads tasks by run, and
  runs are never deleted).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration must keep producing the same tables when the schema moves on).
TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ZAP_ID = sa.String(200)
NOT_SUCCEEDED = sa.text("status <> 'success'")


def _partial(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name="tasks")
    op.create_index(
        name, "tasks", columns, sqlite_where=NOT_SUCCEEDED, postgresql_where=NOT_SUCCEEDED
    )


def _replace_zap_keys(staged: str, order_by: str = "") -> None:
    """Copy the keys into the ``staged`` table, then let it take ``zap_keys``' place.

    On PostgreSQL its primary key, created as ``pk_<staged>``, takes its final name too.
    The watermark index is created again on the new table.
    """
    order = f" ORDER BY {order_by}" if order_by else ""
    op.execute(
        f"INSERT INTO {staged} (zap_id, key, watermark) "
        f"SELECT zap_id, key, watermark FROM zap_keys{order}"
    )
    op.drop_table("zap_keys")
    op.rename_table(staged, "zap_keys")
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"ALTER TABLE zap_keys RENAME CONSTRAINT pk_{staged} TO pk_zap_keys")
    op.create_index("ix_zap_keys_zap_id_watermark", "zap_keys", ["zap_id", "watermark"])


def upgrade() -> None:
    """Rebuild ``zap_keys`` keyed by (zap_id, key); make the task status indexes partial."""
    op.drop_index("ix_tasks_run_id", table_name="tasks")
    _partial("ix_tasks_zap_id_status_id", ["zap_id", "status", "id"])
    _partial("ix_tasks_status_id", ["status", "id"])

    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite's constraint names are the table's own; PostgreSQL's name an index each, so
    # the new table's key takes its final name only once the old table is gone.
    key_name = "pk_zap_keys" if sqlite else "pk_zap_keys_next"
    op.drop_index("ix_zap_keys_zap_id_watermark", table_name="zap_keys")
    op.create_table(
        "zap_keys_next",
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("watermark", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("zap_id", "key", name=key_name),
        sqlite_with_rowid=False,
    )
    _replace_zap_keys("zap_keys_next")


def downgrade() -> None:
    """Back to 0001: ``zap_keys`` with an ``id``, full status indexes and the run index."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    key_name = "pk_zap_keys" if sqlite else "pk_zap_keys_prev"
    unique_name = "uq_zap_keys_zap_id_key" if sqlite else "uq_zap_keys_zap_id_key_prev"
    op.drop_index("ix_zap_keys_zap_id_watermark", table_name="zap_keys")
    op.create_table(
        "zap_keys_prev",
        sa.Column("id", ID, nullable=False),
        sa.Column("zap_id", ZAP_ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("watermark", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=key_name),
        sa.UniqueConstraint("zap_id", "key", name=unique_name),
    )
    # In the old order, so the surrogate ids come out oldest first, as 0001 gave them.
    _replace_zap_keys("zap_keys_prev", order_by="watermark, key")
    if not sqlite:
        op.execute(
            "ALTER TABLE zap_keys RENAME CONSTRAINT uq_zap_keys_zap_id_key_prev "
            "TO uq_zap_keys_zap_id_key"
        )
    for name, columns in (
        ("ix_tasks_status_id", ["status", "id"]),
        ("ix_tasks_zap_id_status_id", ["zap_id", "status", "id"]),
    ):
        op.drop_index(name, table_name="tasks")
        op.create_index(name, "tasks", columns)
    op.create_index("ix_tasks_run_id", "tasks", ["run_id"])
