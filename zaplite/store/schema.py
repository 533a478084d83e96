"""The store's tables, as SQLAlchemy Core objects on one :data:`metadata`.

This module is the schema the newest migration must produce: a test compares
the two with alembic's ``compare_metadata``. Change a table here only together
with a new migration in ``migrations/versions/``.

Types are portable: :class:`UTCDateTime` keeps every timestamp timezone-aware
UTC (SQLite has no time zones, so it is stored as naive UTC there and made
aware again on read); :data:`JSONValue` is ``JSON``, ``JSONB`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

__all__ = [
    "NOT_SUCCEEDED",
    "RUNNING",
    "JSONValue",
    "UTCDateTime",
    "api_calls",
    "connection_status",
    "leases",
    "metadata",
    "received",
    "runs",
    "task_hours",
    "tasks",
    "vault_key",
    "vault_secrets",
    "zap_cursors",
    "zap_keys",
    "zap_state",
    "zaps",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    Values written are converted to UTC (a naive value is taken to be UTC);
    values read are always aware UTC datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert to UTC; drop the zone on SQLite, which stores naive text."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the database handed back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONValue = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""Any JSON-compatible value: ``JSON`` (text on SQLite), ``JSONB`` on PostgreSQL."""

ZapId = sa.String(200)

# Per-zap status: pause, consecutive authentication failures, samples.
zaps = sa.Table(
    "zaps",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("paused_reason", sa.Text, nullable=True),
    sa.Column("paused_at", UTCDateTime, nullable=True),
    sa.Column("auth_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("samples", JSONValue, nullable=True),
    sa.Column("samples_at", UTCDateTime, nullable=True),
)

# The trigger cursor of each zap, saved in the transaction that records its page.
zap_cursors = sa.Table(
    "zap_cursors",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("cursor", JSONValue, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Dedup keys seen inside each trigger's overlap window, keyed by (zap, key): on SQLite
# a WITHOUT ROWID table, so a key is one B-tree entry rather than a row plus an index.
zap_keys = sa.Table(
    "zap_keys",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("watermark", UTCDateTime, nullable=True),
    sa.Index(None, "zap_id", "watermark"),
    sqlite_with_rowid=False,
)

# Per-zap key/value memory of a trigger (e.g. the last seen watched fields).
zap_state = sa.Table(
    "zap_state",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", JSONValue, nullable=True),
)

# One poll of one zap: what it found and what became of it.
RUNNING = sa.text("status = 'running'")
"""The runs not finished (yet): the partial index ``ix_runs_zap_id`` holds only these."""

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("zap_id", ZapId, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("found", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("filtered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text, nullable=True),
    # The lease holder name of the process running it (see engine/leases.py): a row left
    # "running" by a process that is gone is closed by the zap's next lease holder.
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Index(None, "zap_id", "id"),
    # Only the open runs: the few rows the next lease holder looks at.
    sa.Index(None, "zap_id", sqlite_where=RUNNING, postgresql_where=RUNNING),
)

NOT_SUCCEEDED = sa.text("status <> 'success'")
"""The condition of the partial status indexes of ``tasks``, as queries must repeat it."""

# One trigger record taken through a zap's steps: the history, replayable.
tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("zap_id", ZapId, nullable=False),
    sa.Column(
        "run_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("runs.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("record", JSONValue, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("steps", JSONValue, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Most tasks succeed, and the lists by status are of failed and filtered tasks: the
    # status indexes hold only those, so recording a successful task updates two B-trees
    # (the table and zap_id, id) instead of four. A query uses them only when it says
    # NOT_SUCCEEDED itself (see Store.list_tasks).
    sa.Index(
        None, "zap_id", "status", "id", sqlite_where=NOT_SUCCEEDED, postgresql_where=NOT_SUCCEEDED
    ),
    sa.Index(None, "zap_id", "id"),
    sa.Index(None, "status", "id", sqlite_where=NOT_SUCCEEDED, postgresql_where=NOT_SUCCEEDED),
    # The console's search by record id: an exact key, or the record's keys of an
    # updated-record trigger ("<Id>|<SystemModstamp>") by prefix. text_pattern_ops lets
    # PostgreSQL serve the prefix LIKE whatever the database's collation. The key alone,
    # not (zap_id, record_key): a planner must never take it for a zap's listing by id.
    sa.Index(None, "record_key", postgresql_ops={"record_key": "text_pattern_ops"}),
)

# Tasks per zap, per hour of their creation and per status: what the console's counts of
# the last 24 hours and its charts read, instead of counting a million task rows. Kept in
# the transaction that records the tasks (and moved by a replay that changes a status).
task_hours = sa.Table(
    "task_hours",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("status", sa.String(20), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index(None, "hour"),
)

# What the daemons last saw of each connection: a sign-in that worked, the last error, and
# the API usage the service reported (Salesforce's Sforce-Limit-Info).
connection_status = sa.Table(
    "connection_status",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("last_ok_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", UTCDateTime, nullable=True),
    sa.Column("usage_used", sa.BigInteger, nullable=True),
    sa.Column("usage_limit", sa.BigInteger, nullable=True),
    sa.Column("usage_at", UTCDateTime, nullable=True),
)

# The API calls zaplite made through each connection, per hour (every daemon adds its
# own), so that its share of a service's daily allowance can be told (Salesforce).
api_calls = sa.Table(
    "api_calls",
    metadata,
    sa.Column("connection", sa.String(200), primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
)

# Which daemon runs each zap, until when (several daemons may share one store).
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("zap_id", ZapId, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # Changes every time the lease is taken, never on a renewal: the fencing token.
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
)

# The credential vault: each connection's secrets, encrypted by the project (never plain
# text here). ``version`` grows with each replacement, so a daemon replacing a rotated
# token can tell whether another got there first; ``claimed_by`` / ``claimed_until`` let
# one daemon at a time exchange a secret that the service rotates.
vault_secrets = sa.Table(
    "vault_secrets",
    metadata,
    sa.Column("connection", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
)

# One row: a known text encrypted under the vault's key, so a wrong key is told apart
# from a damaged secret before anything is written under it.
vault_key = sa.Table(
    "vault_key",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check_token", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Records pushed to an instant trigger (a Salesforce outbound message's notifications),
# written before the service is acknowledged and marked delivered in the transaction that
# records their tasks; kept a day after delivery so that a repeated message is recognised.
received = sa.Table(
    "received",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("zap_id", ZapId, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("record", JSONValue, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("zap_id", "key"),
    sa.Index(None, "zap_id", "delivered_at"),
)
