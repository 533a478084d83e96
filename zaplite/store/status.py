"""What the store knows of each zap between runs: paused or not, authentication failures, samples."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zaplite.store.base import StoreBase, utc_now
from zaplite.store.records import ZapStatus
from zaplite.store.schema import runs, zap_cursors, zaps

__all__ = ["ZapStatuses"]

_ZAP = sa.bindparam("zap_id", type_=zaps.c.zap_id.type)

_FLAGS = sa.select(zaps.c.paused_reason, zaps.c.auth_failures).where(zaps.c.zap_id == _ZAP)
"""The zap's pause reason and consecutive authentication failures."""


class ZapStatuses(StoreBase):
    """Pause and resume, consecutive authentication failures, ``test-trigger``'s samples."""

    def get_status(self, zap_id: str) -> ZapStatus:
        """What the store knows of the zap (a zap it has never seen is not paused)."""
        with self._read() as connection:
            statuses = self._statuses(connection, zap_id)
        return statuses.get(zap_id) or ZapStatus(zap_id, None, 0, None, False)

    def zap_flags(self, zap_id: str) -> tuple[str | None, int]:
        """The zap's pause reason and consecutive authentication failures (one key lookup).

        What a run needs before it starts; :meth:`get_status` also reads the last run,
        which costs more as the zap's history grows.
        """
        with self._read() as connection:
            row = connection.execute(_FLAGS, {"zap_id": zap_id}).first()
        if row is None:
            return None, 0
        return row.paused_reason, int(row.auth_failures or 0)

    def list_statuses(self) -> list[ZapStatus]:
        """The status of every zap the store knows of, by zap id."""
        with self._read() as connection:
            statuses = self._statuses(connection, None)
        return [statuses[zap_id] for zap_id in sorted(statuses)]

    def _statuses(self, connection: sa.Connection, zap_id: str | None) -> dict[str, ZapStatus]:
        """Gather pause, auth failures, last run and cursor presence, per zap."""

        def only(query: sa.Select[Any], column: sa.ColumnElement[Any]) -> sa.Select[Any]:
            return query if zap_id is None else query.where(column == zap_id)

        flags = {
            row.zap_id: (row.paused_reason, row.auth_failures)
            for row in connection.execute(
                only(
                    sa.select(zaps.c.zap_id, zaps.c.paused_reason, zaps.c.auth_failures),
                    zaps.c.zap_id,
                )
            )
        }
        last_runs = dict(
            connection.execute(
                only(
                    sa.select(runs.c.zap_id, sa.func.max(runs.c.started_at)).group_by(
                        runs.c.zap_id
                    ),
                    runs.c.zap_id,
                )
            ).all()
        )
        with_cursor = set(
            connection.execute(only(sa.select(zap_cursors.c.zap_id), zap_cursors.c.zap_id))
            .scalars()
            .all()
        )
        statuses = {}
        for zap in set(flags) | set(last_runs) | with_cursor:
            reason, failures = flags.get(zap, (None, 0))
            last = last_runs.get(zap)
            statuses[zap] = ZapStatus(
                zap_id=zap,
                paused_reason=reason,
                auth_failures=failures,
                last_run_at=_aware(last),
                has_cursor=zap in with_cursor,
            )
        return statuses

    def record_auth_failure(self, zap_id: str) -> int:
        """Count one more consecutive authentication failure; returns the new count."""
        statement = self._insert(zaps).values(zap_id=zap_id, auth_failures=1)
        statement = statement.on_conflict_do_update(
            index_elements=["zap_id"], set_={"auth_failures": zaps.c.auth_failures + 1}
        ).returning(zaps.c.auth_failures)
        with self._write() as connection:
            return int(connection.execute(statement).scalar_one())

    def clear_auth_failures(self, zap_id: str) -> None:
        """Reset the consecutive authentication failures (a poll signed in)."""
        with self._write() as connection:
            connection.execute(
                sa.update(zaps).where(zaps.c.zap_id == zap_id).values(auth_failures=0)
            )

    def pause(self, zap_id: str, reason: str) -> None:
        """Pause the zap with a reason shown to the user; it stays paused until resumed."""
        with self._write() as connection:
            connection.execute(
                self._upsert(zaps, ["zap_id"], ["paused_reason", "paused_at"]),
                {"zap_id": zap_id, "paused_reason": reason, "paused_at": utc_now()},
            )

    def resume(self, zap_id: str) -> None:
        """Resume a paused zap and reset its authentication failures."""
        with self._write() as connection:
            connection.execute(
                sa.update(zaps)
                .where(zaps.c.zap_id == zap_id)
                .values(paused_reason=None, paused_at=None, auth_failures=0)
            )

    def save_samples(self, zap_id: str, records: list[dict[str, Any]]) -> None:
        """Keep ``records`` as the zap's samples (for ``test-step``), replacing older ones."""
        with self._write() as connection:
            connection.execute(
                self._upsert(zaps, ["zap_id"], ["samples", "samples_at"]),
                {"zap_id": zap_id, "samples": list(records), "samples_at": utc_now()},
            )

    def get_samples(self, zap_id: str) -> list[dict[str, Any]]:
        """The zap's saved samples, or an empty list."""
        with self._read() as connection:
            samples = connection.execute(
                sa.select(zaps.c.samples).where(zaps.c.zap_id == zap_id)
            ).scalar_one_or_none()
        return list(samples or [])


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's timestamp as aware UTC (SQLite's ``max()`` loses the column type)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
