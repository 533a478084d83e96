"""The API calls zaplite made through each connection, counted per hour in the store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zaplite.store.base import StoreBase, utc_now
from zaplite.store.schema import api_calls

__all__ = ["KEPT", "ApiCalls"]

KEPT = timedelta(days=2)
"""How long an hour's count is kept (a day is all anything reads)."""


class ApiCalls(StoreBase):
    """Hourly counts of API calls per connection (all daemons sharing the store)."""

    def add_api_calls(self, calls: Mapping[str, int], at: datetime | None = None) -> None:
        """Add ``calls`` (connection: calls) to the hour of ``at`` (now); forget old hours."""
        rows = [{"connection": name, "calls": n} for name, n in calls.items() if n > 0]
        if not rows:
            return
        when = (at or utc_now()).astimezone(UTC)
        hour = when.replace(minute=0, second=0, microsecond=0)
        statement = self._insert(api_calls)
        statement = statement.on_conflict_do_update(
            index_elements=["connection", "hour"],
            set_={"calls": api_calls.c.calls + statement.excluded["calls"]},
        )
        with self._write() as connection:
            connection.execute(statement, [dict(row, hour=hour) for row in rows])
            connection.execute(sa.delete(api_calls).where(api_calls.c.hour < hour - KEPT))

    def api_call_hours(self, since: datetime) -> dict[tuple[str, datetime], int]:
        """Every connection's count in each hour from the one holding ``since``."""
        first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        with self._read() as connection:
            rows = connection.execute(
                sa.select(api_calls.c.connection, api_calls.c.hour, api_calls.c.calls).where(
                    api_calls.c.hour >= first
                )
            ).all()
        return {(name, hour.astimezone(UTC)): int(calls) for name, hour, calls in rows}

    def api_calls_since(self, connection_name: str, since: datetime) -> int:
        """Calls counted for ``connection_name`` in the hours from the one holding ``since``."""
        first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        with self._read() as connection:
            total = connection.execute(
                sa.select(sa.func.sum(api_calls.c.calls)).where(
                    api_calls.c.connection == connection_name, api_calls.c.hour >= first
                )
            ).scalar()
        return int(total or 0)
