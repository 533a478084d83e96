"""What the console reads: each zap's latest activity, tasks by page and by record id, connections.

Every query here is bounded by an index whatever the size of the history: the last
run of a zap is one descent of ``runs (zap_id, id)``, counts and charts come from the
hourly ``task_hours`` rows, and task lists page by id (keyset), never by ``OFFSET``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zaplite.store.base import StoreBase, chunks, utc_now
from zaplite.store.records import TASK_STATUSES, RunRecord, TaskRecord
from zaplite.store.schema import (
    connection_status,
    leases,
    runs,
    task_hours,
    tasks,
    zap_cursors,
    zaps,
)

__all__ = ["ConnectionStatus", "Overview", "ZapActivity"]

HOURS = 24
"""How many hours of counts and chart bars the console shows."""

_NEWEST_RUN = sa.select(sa.func.max(runs.c.id)).where(
    runs.c.zap_id == sa.bindparam("zap_id", type_=runs.c.zap_id.type)
)
"""The id of a zap's newest run: one descent of ``runs (zap_id, id)``."""


@dataclass
class ZapActivity:
    """One zap as the store knows it: pause, lease, last run, and its last 24 hours."""

    zap_id: str
    paused_reason: str | None = None
    paused_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    last_run: RunRecord | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_STATUSES, 0))
    """Tasks created in the last 24 hours, by their status now."""
    hourly: list[int] = field(default_factory=lambda: [0] * HOURS)
    """Successful deliveries per hour, oldest hour first; the last is the current hour."""


@dataclass(frozen=True)
class ConnectionStatus:
    """What the daemons last saw of a connection."""

    name: str
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    usage_used: int | None
    usage_limit: int | None
    usage_at: datetime | None


def _as_utc(value: datetime | str) -> datetime:
    """A stored hour as aware UTC: a datetime (PostgreSQL) or naive UTC text (SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Overview(StoreBase):
    """The console's reads (and the connection status the engine writes for it)."""

    def known_zap_ids(self) -> set[str]:
        """Every zap the store has state of: a cursor, a pause or samples, or a lease."""
        with self._read() as connection:
            found: set[str] = set()
            for table in (zap_cursors, zaps, leases):
                found.update(connection.execute(sa.select(table.c.zap_id)).scalars())
        return found

    def zap_activity(
        self, zap_ids: Sequence[str], *, now: datetime | None = None
    ) -> dict[str, ZapActivity]:
        """The activity of each of ``zap_ids`` (a zap the store never saw gets an empty one)."""
        at = now or utc_now()
        first_hour = _hour(at) - timedelta(hours=HOURS - 1)
        slots: dict[datetime | str, int] = {}
        for index in range(HOURS):
            hour = first_hour + timedelta(hours=index)
            slots[hour] = index
            slots[hour.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")] = index
        result = {zap_id: ZapActivity(zap_id) for zap_id in zap_ids}
        with self._read() as connection:
            for chunk in chunks(list(zap_ids)):
                ids = list(chunk)
                for row in connection.execute(
                    sa.select(zaps.c.zap_id, zaps.c.paused_reason, zaps.c.paused_at).where(
                        zaps.c.zap_id.in_(ids)
                    )
                ):
                    result[row.zap_id].paused_reason = row.paused_reason
                    result[row.zap_id].paused_at = row.paused_at
                for row in connection.execute(
                    sa.select(leases).where(leases.c.zap_id.in_(ids), leases.c.expires_at > at)
                ):
                    result[row.zap_id].lease_owner = row.owner
                    result[row.zap_id].lease_expires_at = row.expires_at
                # One descent of runs (zap_id, id) per zap, with a statement built once.
                # (A GROUP BY would read every run of those zaps; one statement with the
                # ids as a derived table costs more to build than these cost to run.)
                run_ids = [
                    run_id
                    for zap_id in ids
                    if (run_id := connection.execute(_NEWEST_RUN, {"zap_id": zap_id}).scalar())
                    is not None
                ]
                if run_ids:
                    for row in connection.execute(sa.select(runs).where(runs.c.id.in_(run_ids))):
                        result[row.zap_id].last_run = RunRecord(**row._asdict())
                recent = sa.and_(task_hours.c.zap_id.in_(ids), task_hours.c.hour >= first_hour)
                for zap_id, status, count in connection.execute(
                    sa.select(
                        task_hours.c.zap_id, task_hours.c.status, sa.func.sum(task_hours.c.count)
                    )
                    .where(recent)
                    .group_by(task_hours.c.zap_id, task_hours.c.status)
                ):
                    result[zap_id].counts[status] = int(count)
                # The hours come back as they are stored (naive UTC text on SQLite, aware
                # datetimes on PostgreSQL) and are looked up among the 24 expected ones:
                # no per-row conversion, and one fetch for all the rows.
                raw_hour = sa.type_coerce(task_hours.c.hour, sa.String).label("hour")
                for zap_id, hour, count in connection.execute(
                    sa.select(task_hours.c.zap_id, raw_hour, task_hours.c.count).where(
                        recent, task_hours.c.status == "success"
                    )
                ).all():
                    index = slots.get(hour)
                    if index is None:  # stored another way (an aware timestamp's text)
                        index = slots.get(_as_utc(hour))
                    if index is not None:
                        result[zap_id].hourly[index] += count
        return result

    def page_tasks(
        self,
        zap_id: str,
        *,
        status: str | None = None,
        before_id: int | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        """A page of the zap's tasks, newest first: older than ``before_id`` or newer than ``after_id``.

        Keyset paging: each page is one index range whatever page it is.
        """
        if after_id is None:
            return self.list_tasks(  # type: ignore[attr-defined]
                zap_id=zap_id, status=status, before_id=before_id, limit=limit
            )
        query = (
            sa.select(tasks)
            .where(tasks.c.zap_id == zap_id, tasks.c.id > after_id)
            .order_by(tasks.c.id.asc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(tasks.c.status == status)
            if status != "success":
                query = query.where(sa.text("status <> 'success'"))
        with self._read() as connection:
            rows = [TaskRecord(**row._asdict()) for row in connection.execute(query)]
        return rows[::-1]

    def search_tasks(self, zap_id: str, record_id: str, *, limit: int = 50) -> list[TaskRecord]:
        """The zap's tasks of a record, newest first: key ``record_id`` or ``record_id|...``.

        The second form is the key of an updated-record trigger (``Id|SystemModstamp``).
        """
        prefix = record_id + "|"
        if self._dialect == "sqlite":  # BINARY collation: a range is the prefix
            starts = sa.and_(tasks.c.record_key > prefix, tasks.c.record_key < record_id + "}")
        else:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            starts = tasks.c.record_key.like(escaped + "%", escape="\\")
        found: dict[int, TaskRecord] = {}
        with self._read() as connection:
            for condition in (tasks.c.record_key == record_id, starts):
                query = (
                    # "zap_id || ''" keeps the planners off (zap_id, id): without statistics
                    # SQLite would walk every task of the zap rather than the record's keys.
                    sa.select(tasks)
                    .where(tasks.c.zap_id.concat("") == zap_id, condition)
                    .order_by(tasks.c.id.desc())
                    .limit(limit)
                )
                for row in connection.execute(query):
                    found[row.id] = TaskRecord(**row._asdict())
        return [found[task_id] for task_id in sorted(found, reverse=True)][:limit]

    def page_runs(
        self, zap_id: str, *, before_id: int | None = None, limit: int = 20
    ) -> list[RunRecord]:
        """A page of the zap's runs, newest first, older than ``before_id``."""
        query = (
            sa.select(runs).where(runs.c.zap_id == zap_id).order_by(runs.c.id.desc()).limit(limit)
        )
        if before_id is not None:
            query = query.where(runs.c.id < before_id)
        with self._read() as connection:
            return [RunRecord(**row._asdict()) for row in connection.execute(query)]

    def connection_statuses(self) -> dict[str, ConnectionStatus]:
        """What the daemons last saw of each connection, by name."""
        with self._read() as connection:
            return {
                row.name: ConnectionStatus(**row._asdict())
                for row in connection.execute(sa.select(connection_status))
            }

    def save_connection_statuses(self, statuses: Iterable[ConnectionStatus]) -> None:
        """Store what this process saw of these connections (replacing older news)."""
        rows = [_row(status) for status in statuses]
        if not rows:
            return
        with self._write() as connection:
            connection.execute(
                self._upsert(
                    connection_status,
                    ["name"],
                    [c.name for c in connection_status.columns if c.name != "name"],
                ),
                rows,
            )


def _row(status: ConnectionStatus) -> dict[str, object]:
    return {column.name: getattr(status, column.name) for column in connection_status.columns}
