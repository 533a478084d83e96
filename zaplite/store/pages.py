"""A zap's polling memory: its cursor, dedup keys and trigger state, and a page recorded in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from zaplite.store import bulk
from zaplite.store.base import StoreBase, chunks, utc_now
from zaplite.store.connect import dumps
from zaplite.store.leases import Fence, check_fence
from zaplite.store.records import TASK_STATUSES, KeysFull, NewTask, RunStart
from zaplite.store.schema import received, runs, tasks, zap_cursors, zap_keys, zap_state, zaps

__all__ = ["KEY_COUNT_TTL", "PageRecords"]


KEY_COUNT_TTL = 60.0
"""Seconds a zap's counted number of keys is trusted before :meth:`Store.commit_page` counts again."""

_TASK_COLUMNS = (
    "zap_id",
    "run_id",
    "record_key",
    "record",
    "status",
    "steps",
    "error",
    "attempts",
    "created_at",
    "updated_at",
)
"""The columns of a new task row, in the order :meth:`Store._task_rows` gives them."""

_ROWS_PER_INSERT = 90
"""Task rows per SQLite ``INSERT``: 900 parameters, under the 999 of SQLite before 3.32."""


_NEXT_TASK_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('tasks', 'id')) FROM generate_series(1, :n)"
)
"""PostgreSQL only: reserve ``n`` task ids, in ascending order."""

# The statements a daemon runs at every tick of every zap, built once: building and
# caching a statement costs more than the key lookup it makes.
_ZAP = sa.bindparam("zap_id", type_=zaps.c.zap_id.type)

_CURSOR = sa.select(zap_cursors.c.cursor).where(zap_cursors.c.zap_id == _ZAP)
"""The zap's saved cursor."""

_RUN_START = sa.select(
    sa.select(zaps.c.paused_reason).where(zaps.c.zap_id == _ZAP).scalar_subquery(),
    sa.select(zaps.c.auth_failures).where(zaps.c.zap_id == _ZAP).scalar_subquery(),
    _CURSOR.scalar_subquery(),
)
"""Flags and cursor in one row (each ``NULL`` when the zap has none)."""


class PageRecords(StoreBase):
    """Cursors, dedup keys, trigger state, and :meth:`commit_page`, the engine's one write per page."""

    def get_cursor(self, zap_id: str) -> Any | None:
        """The zap's saved cursor, or ``None`` before its first committed page."""
        with self._read() as connection:
            return connection.execute(_CURSOR, {"zap_id": zap_id}).scalar_one_or_none()

    def run_start(self, zap_id: str) -> RunStart:
        """What a run needs before it polls (pause, auth failures, cursor), in one query.

        Only a run that already holds the zap's lease may use the cursor read here: a run
        that has yet to take the lease reads :meth:`zap_flags` first and the cursor after.
        """
        with self._read() as connection:
            paused_reason, auth_failures, cursor = connection.execute(
                _RUN_START, {"zap_id": zap_id}
            ).one()
        return RunStart(paused_reason, int(auth_failures or 0), cursor)

    def known_keys(self, zap_id: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the zap has already seen (inside its remembered window)."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        if not wanted:
            return found
        with self._read() as connection:
            if self._dialect == "sqlite":
                # The driver's own placeholders: an expanding IN is compiled again for every
                # query, which costs more than the lookup itself.
                for chunk in chunks(wanted):
                    marks = ", ".join("?" * len(chunk))
                    rows = connection.exec_driver_sql(
                        f"SELECT key FROM zap_keys WHERE zap_id = ? AND key IN ({marks})",
                        (zap_id, *chunk),
                    )
                    found.update(row[0] for row in rows)
                return found
            query = sa.select(zap_keys.c.key).where(
                zap_keys.c.zap_id == zap_id,
                zap_keys.c.key.in_(sa.bindparam("keys", expanding=True)),
            )
            for chunk in chunks(wanted):
                found.update(connection.execute(query, {"keys": list(chunk)}).scalars())
        return found

    def get_state(self, zap_id: str, keys: Iterable[str]) -> dict[str, Any]:
        """The stored trigger-state values of those of ``keys`` that have one."""
        wanted = list(dict.fromkeys(keys))
        values: dict[str, Any] = {}
        if not wanted:
            return values
        query = sa.select(zap_state.c.key, zap_state.c.value).where(
            zap_state.c.zap_id == zap_id,
            zap_state.c.key.in_(sa.bindparam("keys", expanding=True)),
        )
        with self._read() as connection:
            for chunk in chunks(wanted):
                values.update(
                    (row.key, row.value) for row in connection.execute(query, {"keys": list(chunk)})
                )
        return values

    def commit_page(
        self,
        zap_id: str,
        run_id: int | None,
        *,
        tasks: Sequence[NewTask],
        cursor: Any,
        keys: Sequence[str],
        watermark: datetime | None = None,
        forget_before: datetime | None = None,
        state: Mapping[str, Any] | None = None,
        save_cursor: bool = True,
        settled_cursor: Any = None,
        on_keys_full: Callable[[KeysFull], None] | None = None,
        received_keys: Sequence[str] = (),
        fence: Fence | None = None,
    ) -> list[int]:
        """Record one page of a poll in ONE transaction; returns the new task ids in order.

        Inserts ``tasks``, remembers ``keys`` (stamped ``watermark``; known keys are
        kept as they are), saves ``cursor`` (unless ``save_cursor`` is false),
        applies ``state`` (``None`` deletes a key), forgets keys whose watermark is
        older than ``forget_before``, adds the tasks to the run's counts and marks the
        received records of an instant trigger with ``received_keys`` delivered. Either
        all of it is stored or none of it.

        When the zap then holds more than ``max_keys_per_zap`` keys, no key its next
        poll may read again is forgotten silently: with a ``settled_cursor`` (a cursor
        from which no record up to this page's end is read again) that cursor is saved
        and every key of the zap forgotten; with a ``watermark`` (the keys are inside
        the look-back window) all are kept; otherwise (keys without watermarks) the
        oldest are forgotten. Each case is told to ``on_keys_full``.

        With a ``fence`` (the run's lease holder and generation), the page is recorded
        only if the zap's lease is still held at that generation; otherwise nothing is
        written and :class:`~zaplite.store.leases.LeaseLost` is raised.
        """
        for task in tasks:
            if task.status not in TASK_STATUSES:
                raise ValueError(f"unknown task status {task.status!r}")
        now = utc_now()
        # Prepared before the transaction: serialising is the slow part, and a value that
        # is not JSON fails here, before anything is written.
        task_rows = self._task_rows(zap_id, run_id, tasks, now)
        unique_keys = list(dict.fromkeys(keys))
        stamp = bulk.stored_time(watermark, self._dialect)
        with self._write() as connection:
            if fence is not None:
                check_fence(connection, zap_id, fence)
            ids = self._insert_tasks(connection, task_rows)
            if unique_keys and _keys_of(tasks) == unique_keys:
                self._keys_from_tasks(connection, zap_id, ids, stamp)
            elif unique_keys and self._dialect == "sqlite":
                connection.exec_driver_sql(
                    bulk.sqlite_insert(
                        bulk.raw_keys(self._dialect),
                        ("zap_id", "key", "watermark"),
                        conflict_ignored_on=("zap_id", "key"),
                        positional=True,
                    ),
                    [(zap_id, key, stamp) for key in unique_keys],  # type: ignore[arg-type]
                )
            elif unique_keys:
                connection.execute(
                    self._insert(bulk.raw_keys(self._dialect)).on_conflict_do_nothing(
                        index_elements=["zap_id", "key"]
                    ),
                    [{"zap_id": zap_id, "key": key, "watermark": stamp} for key in unique_keys],
                )
            if save_cursor:
                connection.execute(
                    self._upsert(zap_cursors, ["zap_id"], ["cursor", "updated_at"]),
                    {"zap_id": zap_id, "cursor": cursor, "updated_at": now},
                )
            if state:
                self._apply_state(connection, zap_id, state)
            if forget_before is not None:
                connection.execute(
                    sa.delete(zap_keys).where(
                        zap_keys.c.zap_id == zap_id, zap_keys.c.watermark < forget_before
                    )
                )
            if unique_keys:
                full = self._limit_keys(
                    connection,
                    zap_id,
                    len(unique_keys),
                    settled_cursor=settled_cursor if save_cursor else None,
                    windowed=watermark is not None,
                    now=now,
                )
                if full is not None and on_keys_full is not None:
                    on_keys_full(full)
            if run_id is not None and tasks:
                self._count_into_run(connection, run_id, tasks)
            if tasks:
                self._count_hours(connection, zap_id, now, Counter(t.status for t in tasks))
            for chunk in chunks(list(dict.fromkeys(received_keys))):
                connection.execute(
                    sa.update(received)
                    .where(
                        received.c.zap_id == zap_id,
                        received.c.key.in_(chunk),
                        received.c.delivered_at.is_(None),
                    )
                    .values(delivered_at=now)
                )
        return ids

    def _task_rows(
        self, zap_id: str, run_id: int | None, new: Sequence[NewTask], now: datetime
    ) -> list[tuple[Any, ...]]:
        """The rows of ``new`` tasks in :data:`_TASK_COLUMNS` order, JSON already serialised.

        Tuples, not dicts: sqlite3 binds them by position, faster than by name.
        """
        stamp = bulk.stored_time(now, self._dialect)
        return [
            (
                zap_id,
                run_id,
                task.record_key,
                dumps(task.record),
                task.status,
                dumps(task.steps),
                task.error,
                task.attempts,
                stamp,
                stamp,
            )
            for task in new
        ]

    def _keys_from_tasks(
        self, connection: sa.Connection, zap_id: str, ids: Sequence[int], stamp: Any
    ) -> None:
        """Remember the keys of the tasks ``ids`` just inserted, copied by the database.

        One ``INSERT ... SELECT`` instead of an ``executemany`` of the same keys: the
        database reads them from the rows it has just written, with no Python and no
        round trip per key. On SQLite the ids of a page's tasks are consecutive (see
        :meth:`_insert_tasks`), so they are a range; PostgreSQL is given the ids.
        """
        table = bulk.raw_keys(self._dialect)
        if self._dialect == "sqlite":
            page = tasks.c.id.between(ids[0], ids[-1])
        else:
            page = tasks.c.id == sa.any_(sa.literal(list(ids), sa.ARRAY(sa.BigInteger)))
        source = sa.select(
            tasks.c.zap_id, tasks.c.record_key, sa.literal(stamp, table.c.watermark.type)
        ).where(tasks.c.zap_id == zap_id, page)
        connection.execute(
            self._insert(table)
            .from_select(["zap_id", "key", "watermark"], source)
            .on_conflict_do_nothing(index_elements=["zap_id", "key"])
        )

    def _insert_tasks(self, connection: sa.Connection, rows: list[tuple[Any, ...]]) -> list[int]:
        """Bulk-insert task rows (an ``executemany``, ``COPY`` on PostgreSQL); returns their ids in order.

        ``RETURNING`` in parameter order would make SQLAlchemy insert row by row on
        SQLite and use a slower sorted form on PostgreSQL, so the ids are found
        another way: PostgreSQL hands out the page's ids from the table's sequence
        first; on SQLite this transaction is the only writer (``BEGIN IMMEDIATE``)
        and rowids are given out ascending, so the newest ``len(rows)`` ids are ours.
        """
        if not rows:
            return []
        table = bulk.raw_tasks(self._dialect)
        if self._dialect == "sqlite":
            # Many rows per INSERT: sqlite3 steps (and gives the GIL back and forth) once
            # per statement, not once per row.
            groups = bulk.flat_rows(rows, _ROWS_PER_INSERT)
            rest = len(rows) % _ROWS_PER_INSERT
            tail = groups.pop() if rest else None
            if groups:
                insert = bulk.sqlite_insert(
                    table, _TASK_COLUMNS, positional=True, rows=_ROWS_PER_INSERT
                )
                connection.exec_driver_sql(insert, groups)  # type: ignore[arg-type]
            if tail is not None:
                insert = bulk.sqlite_insert(table, _TASK_COLUMNS, positional=True, rows=rest)
                connection.exec_driver_sql(insert, tail)
            # The rowids given out in this transaction are consecutive (nothing else
            # writes, and no row of this transaction is deleted): the newest len(rows).
            last = connection.execute(sa.select(sa.func.max(tasks.c.id))).scalar_one()
            return list(range(last - len(rows) + 1, last + 1))
        if self._dialect == "postgresql":
            ids = sorted(connection.execute(_NEXT_TASK_IDS, {"n": len(rows)}).scalars())
            bulk.postgresql_copy(connection, table, ("id", *_TASK_COLUMNS), ids, rows)
            return ids
        named = [dict(zip(_TASK_COLUMNS, row, strict=True)) for row in rows]
        connection.execute(sa.insert(table), named)
        newest = sa.select(tasks.c.id).order_by(tasks.c.id.desc()).limit(len(rows))
        return sorted(connection.execute(newest).scalars())

    def _apply_state(
        self, connection: sa.Connection, zap_id: str, state: Mapping[str, Any]
    ) -> None:
        """Upsert the non-``None`` values of ``state`` and delete the ``None`` ones."""
        removed = [key for key, value in state.items() if value is None]
        kept = [{"zap_id": zap_id, "key": k, "value": v} for k, v in state.items() if v is not None]
        for chunk in chunks(removed):
            connection.execute(
                sa.delete(zap_state).where(
                    zap_state.c.zap_id == zap_id, zap_state.c.key.in_(list(chunk))
                )
            )
        if kept:
            connection.execute(self._upsert(zap_state, ["zap_id", "key"], ["value"]), kept)

    def _limit_keys(
        self,
        connection: sa.Connection,
        zap_id: str,
        added: int,
        *,
        settled_cursor: Any,
        windowed: bool,
        now: datetime,
    ) -> KeysFull | None:
        """Act when the zap holds more than ``max_keys_per_zap`` keys (see :meth:`commit_page`).

        Counting a zap's keys reads all of them, so a page would pay more the longer the
        backlog. Instead the store keeps an upper bound per zap (the last count plus every
        key inserted since, duplicates and rolled-back pages included) and counts only
        when the bound passes the limit or is older than :data:`KEY_COUNT_TTL` seconds
        (another process sharing the store may have added keys of the same zap).
        """
        known = self._key_bounds.get(zap_id)
        clock = time.monotonic()
        limit = self.max_keys_per_zap
        if known is not None:
            bound, counted_at = known
            if bound + added <= limit and clock - counted_at < KEY_COUNT_TTL:
                self._key_bounds[zap_id] = (bound + added, counted_at)
                return None
        count = connection.execute(
            sa.select(sa.func.count()).select_from(zap_keys).where(zap_keys.c.zap_id == zap_id)
        ).scalar_one()
        if count <= limit:
            self._key_bounds[zap_id] = (count, clock)
            return None
        if settled_cursor is not None:
            # Every key is of a record at or before this page's end, which a poll from the
            # settled cursor never reads again: none of them is needed any more.
            connection.execute(
                self._upsert(zap_cursors, ["zap_id"], ["cursor", "updated_at"]),
                {"zap_id": zap_id, "cursor": settled_cursor, "updated_at": now},
            )
            connection.execute(sa.delete(zap_keys).where(zap_keys.c.zap_id == zap_id))
            self._key_bounds[zap_id] = (0, clock)
            return KeysFull(zap_id, count, limit, "settled")
        if windowed:
            # The next poll may read any of these records again: forgetting one would
            # deliver it again. They go once the watermark leaves them behind.
            self._key_bounds[zap_id] = (count, clock)
            return KeysFull(zap_id, count, limit, "kept")
        oldest = (
            sa.select(zap_keys.c.key)
            .where(zap_keys.c.zap_id == zap_id)
            .order_by(zap_keys.c.watermark.asc().nulls_first(), zap_keys.c.key.asc())
            .limit(count - limit)
        )
        connection.execute(
            sa.delete(zap_keys).where(
                zap_keys.c.zap_id == zap_id, zap_keys.c.key.in_(oldest.scalar_subquery())
            )
        )
        self._key_bounds[zap_id] = (limit, clock)
        return KeysFull(zap_id, count, limit, "trimmed")

    def _count_into_run(
        self, connection: sa.Connection, run_id: int, new: Sequence[NewTask]
    ) -> None:
        """Add the tasks of a page to their run's found/delivered/failed/filtered counts."""
        by_status = Counter(task.status for task in new)
        connection.execute(
            sa.update(runs)
            .where(runs.c.id == run_id)
            .values(
                found=runs.c.found + len(new),
                delivered=runs.c.delivered + by_status["success"],
                failed=runs.c.failed + by_status["failed"],
                filtered=runs.c.filtered + by_status["filtered"],
            )
        )

    def reset_zap(self, zap_id: str) -> None:
        """Forget the zap's cursor, dedup keys and trigger state (its history stays)."""
        self._key_bounds.pop(zap_id, None)
        with self._write() as connection:
            for table in (zap_cursors, zap_keys, zap_state):
                connection.execute(sa.delete(table).where(table.c.zap_id == zap_id))


def _keys_of(new: Sequence[NewTask]) -> list[str]:
    """The record keys of ``new`` tasks, in order."""
    return [task.record_key for task in new]
