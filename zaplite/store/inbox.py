"""Records pushed to an instant trigger, kept until delivered: the ``received`` table.

An instant trigger's HTTP route hands zaplite the records a service pushed; they are
written here in ONE transaction before the service is told they arrived (Salesforce
gets its Ack only then). A record whose key the zap already received is not written
again: a service that repeats a message after an acknowledgement it did not get is
acknowledged and nothing is delivered twice. The engine reads the undelivered rows at
its next run of the zap and marks them delivered in the transaction that records their
tasks (:meth:`~zaplite.store.pages.PageRecords.commit_page`), so a crash between the
write and the delivery loses nothing: the next run (a daemon's first, at its start)
delivers them.

Delivered rows are kept :data:`RECEIVED_KEPT` (longer than Salesforce retries a
message), for the repeats to be recognised and for ``test-trigger`` to show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from zaplite.store.base import StoreBase, chunks, utc_now
from zaplite.store.schema import received

__all__ = ["RECEIVED_KEPT", "Received", "ReceivedRecords"]

RECEIVED_KEPT = timedelta(hours=25)
"""How long a delivered record's key is kept (Salesforce repeats a message for 24 hours)."""


@dataclass(frozen=True)
class Received:
    """One stored record of an instant trigger."""

    id: int
    key: str
    record: dict[str, Any]


class ReceivedRecords(StoreBase):
    """The records instant triggers received, until they are delivered (and a day after)."""

    def receive(self, zap_id: str, items: Sequence[tuple[str, dict[str, Any]]]) -> int:
        """Store ``(key, record)`` pairs in ONE transaction; how many were new.

        A key the zap already has (delivered or not, or twice in ``items``) is skipped.
        Raises if the write fails: then nothing is stored, and the caller must not
        tell the service that the records arrived.
        """
        now = utc_now()
        fresh: dict[str, dict[str, Any]] = {}
        for key, record in items:
            fresh.setdefault(key, record)
        if not fresh:
            return 0
        with self._write() as connection:
            known: set[str] = set()
            for chunk in chunks(list(fresh)):
                known.update(
                    connection.execute(
                        sa.select(received.c.key).where(
                            received.c.zap_id == zap_id, received.c.key.in_(chunk)
                        )
                    ).scalars()
                )
            rows = [
                {"zap_id": zap_id, "key": key, "record": record, "received_at": now}
                for key, record in fresh.items()
                if key not in known
            ]
            if rows:
                connection.execute(
                    self._insert(received).on_conflict_do_nothing(index_elements=["zap_id", "key"]),
                    rows,
                )
            connection.execute(
                sa.delete(received).where(
                    received.c.zap_id == zap_id,
                    received.c.delivered_at.is_not(None),
                    received.c.delivered_at < now - RECEIVED_KEPT,
                )
            )
        return len(rows)

    def undelivered(self, zap_id: str, limit: int = 1000, after: int = 0) -> list[Received]:
        """The zap's records not delivered yet, oldest first, at most ``limit`` (rows past ``after``)."""
        query = (
            sa.select(received.c.id, received.c.key, received.c.record)
            .where(
                received.c.zap_id == zap_id,
                received.c.delivered_at.is_(None),
                received.c.id > after,
            )
            .order_by(received.c.id)
            .limit(limit)
        )
        with self._read() as connection:
            return [Received(row.id, row.key, row.record) for row in connection.execute(query)]

    def recent_received(self, zap_id: str, limit: int = 3) -> list[dict[str, Any]]:
        """The zap's most recently received records (delivered or not), newest first."""
        query = (
            sa.select(received.c.record)
            .where(received.c.zap_id == zap_id)
            .order_by(received.c.id.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return list(connection.execute(query).scalars())
