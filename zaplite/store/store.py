"""The :class:`Store`: everything the engine keeps durable, behind one small API.

Each method takes its own pooled connection and its own transaction, so the
engine may call it from worker threads. Writes on SQLite begin ``IMMEDIATE``
(see :mod:`zaplite.store.connect`); reads begin deferred. The SQL is portable
between SQLite and PostgreSQL; the only dialect-specific statement is the
``INSERT ... ON CONFLICT`` upsert, which both spell the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from zaplite.errors import ConfigError, UsageError
from zaplite.store import bulk, migrate
from zaplite.store.connect import (
    FIELD,
    READ_ONLY,
    NotJSONCompatible,
    create_store_engine,
    display_url,
    dumps,
    location,
    parse_url,
    sqlite_path,
    store_error,
    unopenable_reason,
    unusable,
)
from zaplite.store.records import (
    TASK_STATUSES,
    NewTask,
    RunRecord,
    RunStart,
    TaskRecord,
    ZapStatus,
)
from zaplite.store.schema import (
    NOT_SUCCEEDED,
    leases,
    runs,
    tasks,
    zap_cursors,
    zap_keys,
    zap_state,
    zaps,
)

__all__ = ["CHUNK", "DEFAULT_MAX_KEYS_PER_ZAP", "RUN_STATUSES", "NotFound", "Store"]

DEFAULT_MAX_KEYS_PER_ZAP = 500_000
"""How many dedup keys a zap keeps at most (the oldest go first)."""

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

CHUNK = 500
"""Largest ``IN (...)`` list sent in one query."""

RUN_STATUSES: tuple[str, ...] = ("ok", "failed", "paused", "interrupted")
"""The statuses :meth:`Store.finish_run` accepts (a run is ``"running"`` until then)."""


_NEXT_TASK_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('tasks', 'id')) FROM generate_series(1, :n)"
)
"""PostgreSQL only: reserve ``n`` task ids, in ascending order."""

# The statements a daemon runs at every tick of every zap, built once: building and
# caching a statement costs more than the key lookup it makes.
_ZAP = sa.bindparam("zap_id", type_=zaps.c.zap_id.type)

_CURSOR = sa.select(zap_cursors.c.cursor).where(zap_cursors.c.zap_id == _ZAP)
"""The zap's saved cursor."""

_FLAGS = sa.select(zaps.c.paused_reason, zaps.c.auth_failures).where(zaps.c.zap_id == _ZAP)
"""The zap's pause reason and consecutive authentication failures."""

_RUN_START = sa.select(
    sa.select(zaps.c.paused_reason).where(zaps.c.zap_id == _ZAP).scalar_subquery(),
    sa.select(zaps.c.auth_failures).where(zaps.c.zap_id == _ZAP).scalar_subquery(),
    _CURSOR.scalar_subquery(),
)
"""Flags and cursor in one row (each ``NULL`` when the zap has none)."""


class NotFound(UsageError, LookupError):
    """A task or run asked for by id does not exist."""


def _now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """Split ``items`` into slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    """The durable memory of zaplite: cursors, dedup keys, trigger state, runs, tasks, leases.

    ``Store(url)`` opens (and, with ``create``, creates) the database and upgrades
    its schema to this release. Any problem opening it is a
    :class:`~zaplite.errors.ConfigError` naming the file or the masked URL.
    """

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        max_keys_per_zap: int = DEFAULT_MAX_KEYS_PER_ZAP,
    ) -> None:
        parsed = parse_url(url)
        self.url_for_display: str = display_url(parsed)
        self.max_keys_per_zap = max_keys_per_zap
        self._key_bounds: dict[str, tuple[int, float]] = {}
        """Per zap: at most how many keys it has stored, and when they were last counted."""
        self._url = parsed
        path = sqlite_path(parsed)
        if path is not None and not create and not Path(path).exists():
            raise ConfigError(path, FIELD, "the database file does not exist")
        if path is not None and create and not Path(path).exists():
            problem = unopenable_reason(Path(path))
            if problem is not None:  # before the migrations, so the reason is about the file
                raise ConfigError(path, FIELD, problem)
        self._engine = create_store_engine(parsed)
        self._dialect = self._engine.dialect.name
        self.quick_reads: bool = path is not None
        """Whether a key lookup here is a read of a local SQLite file in WAL mode.

        Such a read takes tens of microseconds and does not wait for writers, so the
        engine may make a run's first read (:meth:`run_start`) on its event loop rather
        than hand it to a worker thread, which costs more than the read. PostgreSQL (a
        network round trip) and in-memory SQLite (one connection shared by the
        threads) are never read that way.
        """
        try:
            migrate.upgrade(self._engine, create=create)
        except migrate.NewerDatabase as exc:
            self._engine.dispose()
            raise ConfigError(
                location(parsed),
                FIELD,
                f"the database was written by a newer zaplite release (schema revision "
                f"{exc.revision!r}); upgrade zaplite to use it",
            ) from None
        except migrate.EmptyDatabase:
            self._engine.dispose()
            raise ConfigError(
                location(parsed), FIELD, "the database holds no zaplite store"
            ) from None
        except migrate.ForeignTables as exc:
            self._engine.dispose()
            raise ConfigError(
                location(parsed),
                FIELD,
                f"the database already holds tables zaplite did not create "
                f"({', '.join(exc.names)}); give zaplite a database of its own",
            ) from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._engine.dispose()
            raise store_error(exc, parsed) from None

    # ------------------------------------------------------------------ plumbing

    def check_writable(self) -> None:
        """Raise a :class:`~zaplite.errors.ConfigError` unless this store can be written.

        Opening only reads (a read-only SQLite file opens fine), so a command that
        writes asks first: a write statement that changes nothing, rolled back.
        """
        try:
            with self._engine.connect() as connection, connection.begin() as transaction:
                connection.execute(sa.delete(leases).where(sa.false()))
                transaction.rollback()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise store_error(exc, self._url) from None

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_for_display!r})"

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for tests and maintenance tools)."""
        return self._engine

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A connection for reading; its transaction is rolled back at the end.

        A damaged or read-only SQLite file raises :class:`~zaplite.store.connect.StoreUnusable`
        (one sentence), here and in :meth:`_write`.
        """
        try:
            with self._engine.connect() as connection:
                connection.execution_options(**{READ_ONLY: True})
                yield connection
        except sa.exc.DBAPIError as exc:
            self._raise_if_unusable(exc)
            raise

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A connection in a write transaction, committed at the end unless it raised.

        A value that cannot be stored as JSON rolls the transaction back and raises
        :class:`~zaplite.store.connect.NotJSONCompatible` (not SQLAlchemy's wrapper).
        """
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.StatementError as exc:
            if isinstance(exc.orig, NotJSONCompatible):
                raise exc.orig from None
            if isinstance(exc, sa.exc.DBAPIError):
                self._raise_if_unusable(exc)
            raise

    def _raise_if_unusable(self, exc: sa.exc.DBAPIError) -> None:
        """Raise :class:`~zaplite.store.connect.StoreUnusable` if ``exc`` says the file is damaged."""
        problem = unusable(exc, self._url)
        if problem is not None:
            raise problem from None

    def _insert(self, table: sa.Table) -> Any:
        """An ``INSERT`` that supports ``ON CONFLICT`` on this database."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert(self, table: sa.Table, index: Sequence[str], update: Sequence[str]) -> Any:
        """``INSERT ... ON CONFLICT (index) DO UPDATE SET`` each of ``update`` to the new value."""
        statement = self._insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(index),
            set_={name: statement.excluded[name] for name in update},
        )

    def _db_now(self, connection: sa.Connection) -> datetime:
        """The shared clock: the server's on PostgreSQL (daemons on several machines)."""
        if self._dialect == "postgresql":
            value = connection.execute(sa.select(sa.func.now())).scalar_one()
            return value.astimezone(UTC)
        return _now()

    # ------------------------------------------------------------------ cursors, keys, state

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
                for chunk in _chunks(wanted):
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
            for chunk in _chunks(wanted):
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
            for chunk in _chunks(wanted):
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
    ) -> list[int]:
        """Record one page of a poll in ONE transaction; returns the new task ids in order.

        Inserts ``tasks``, remembers ``keys`` (stamped ``watermark``; known keys are
        kept as they are), saves ``cursor`` (unless ``save_cursor`` is false),
        applies ``state`` (``None`` deletes a key), forgets keys whose watermark is
        older than ``forget_before``, trims the zap to ``max_keys_per_zap`` keys
        (oldest first) and adds the tasks to the run's counts. Either all of it is
        stored or none of it.
        """
        for task in tasks:
            if task.status not in TASK_STATUSES:
                raise ValueError(f"unknown task status {task.status!r}")
        now = _now()
        # Prepared before the transaction: serialising is the slow part, and a value that
        # is not JSON fails here, before anything is written.
        task_rows = self._task_rows(zap_id, run_id, tasks, now)
        unique_keys = list(dict.fromkeys(keys))
        stamp = bulk.stored_time(watermark, self._dialect)
        with self._write() as connection:
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
                self._trim_keys(connection, zap_id, len(unique_keys))
            if run_id is not None and tasks:
                self._count_into_run(connection, run_id, tasks)
        return ids

    def _task_rows(
        self, zap_id: str, run_id: int | None, new: Sequence[NewTask], now: datetime
    ) -> list[tuple[Any, ...]]:
        """The rows of ``new`` tasks in :data:`_TASK_COLUMNS` order, JSON already serialised.

        Tuples, not dicts: sqlite3 binds them by position, a fifth faster than by name.
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
            # per statement, not once per row; 2,000 rows went 6.0 -> 3.9 ms on a bare file.
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
        for chunk in _chunks(removed):
            connection.execute(
                sa.delete(zap_state).where(
                    zap_state.c.zap_id == zap_id, zap_state.c.key.in_(list(chunk))
                )
            )
        if kept:
            connection.execute(self._upsert(zap_state, ["zap_id", "key"], ["value"]), kept)

    def _trim_keys(self, connection: sa.Connection, zap_id: str, added: int) -> None:
        """Forget the zap's oldest keys beyond ``max_keys_per_zap``.

        Counting a zap's keys reads all of them, so a page would pay more the longer the
        backlog. Instead the store keeps an upper bound per zap (the last count plus every
        key inserted since, duplicates and rolled-back pages included) and counts only
        when the bound passes the limit or is older than :data:`KEY_COUNT_TTL` seconds
        (another process sharing the store may have added keys of the same zap).
        """
        known = self._key_bounds.get(zap_id)
        now = time.monotonic()
        if known is not None:
            bound, counted_at = known
            if bound + added <= self.max_keys_per_zap and now - counted_at < KEY_COUNT_TTL:
                self._key_bounds[zap_id] = (bound + added, counted_at)
                return
        count = connection.execute(
            sa.select(sa.func.count()).select_from(zap_keys).where(zap_keys.c.zap_id == zap_id)
        ).scalar_one()
        excess = count - self.max_keys_per_zap
        self._key_bounds[zap_id] = (min(count, self.max_keys_per_zap), now)
        if excess <= 0:
            return
        oldest = (
            sa.select(zap_keys.c.key)
            .where(zap_keys.c.zap_id == zap_id)
            .order_by(zap_keys.c.watermark.asc().nulls_first(), zap_keys.c.key.asc())
            .limit(excess)
        )
        connection.execute(
            sa.delete(zap_keys).where(
                zap_keys.c.zap_id == zap_id, zap_keys.c.key.in_(oldest.scalar_subquery())
            )
        )

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

    # ------------------------------------------------------------------ runs

    def start_run(self, zap_id: str) -> int:
        """Record that a run of the zap starts now; returns its id."""
        with self._write() as connection:
            return connection.execute(
                sa.insert(runs)
                .values(zap_id=zap_id, started_at=_now(), status="running")
                .returning(runs.c.id)
            ).scalar_one()

    def finish_run(self, run_id: int, status: str, message: str | None = None) -> None:
        """Record how the run ended: ``"ok"``, ``"failed"``, ``"paused"`` or ``"interrupted"``."""
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self._write() as connection:
            result = connection.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=_now(), message=message)
            )
            if result.rowcount == 0:
                raise NotFound(f"There is no run {run_id}.")

    def list_runs(self, zap_id: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs (of one zap, or of all), newest first."""
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if zap_id is not None:
            query = query.where(runs.c.zap_id == zap_id)
        with self._read() as connection:
            return [RunRecord(**row._asdict()) for row in connection.execute(query)]

    # ------------------------------------------------------------------ tasks

    def get_task(self, task_id: int) -> TaskRecord | None:
        """The task with this id, or ``None``."""
        with self._read() as connection:
            row = connection.execute(sa.select(tasks).where(tasks.c.id == task_id)).first()
        return None if row is None else TaskRecord(**row._asdict())

    def list_tasks(
        self,
        *,
        zap_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[TaskRecord]:
        """Tasks newest first, optionally of one zap and/or status; ``before_id`` pages back."""
        query = sa.select(tasks).order_by(tasks.c.id.desc()).limit(limit)
        if zap_id is not None:
            query = query.where(tasks.c.zap_id == zap_id)
        if status is not None:
            query = query.where(tasks.c.status == status)
            if status != "success":  # lets the partial status indexes serve the query
                query = query.where(NOT_SUCCEEDED)
        if before_id is not None:
            query = query.where(tasks.c.id < before_id)
        with self._read() as connection:
            return [TaskRecord(**row._asdict()) for row in connection.execute(query)]

    def count_tasks(self, *, zap_id: str | None = None) -> dict[str, int]:
        """How many tasks have each status (every known status is present, maybe with 0).

        Successes are the total less the others: the status indexes hold only tasks that
        did not succeed, and the total is counted from ``(zap_id, id)`` alone.
        """
        others = (
            sa.select(tasks.c.status, sa.func.count()).where(NOT_SUCCEEDED).group_by(tasks.c.status)
        )
        total = sa.select(sa.func.count()).select_from(tasks)
        if zap_id is not None:
            others = others.where(tasks.c.zap_id == zap_id)
            total = total.where(tasks.c.zap_id == zap_id)
        counts = dict.fromkeys(TASK_STATUSES, 0)
        with self._read() as connection:
            counts.update({status: count for status, count in connection.execute(others)})
            all_tasks = connection.execute(total).scalar_one()
        counts["success"] = all_tasks - sum(
            n for status, n in counts.items() if status != "success"
        )
        return counts

    def update_task(
        self, task_id: int, *, status: str, steps: list[dict[str, Any]], error: str | None
    ) -> None:
        """Record a replay of the task: its new outcome, one more attempt, updated now."""
        if status not in TASK_STATUSES:
            raise ValueError(f"unknown task status {status!r}")
        with self._write() as connection:
            result = connection.execute(
                sa.update(tasks)
                .where(tasks.c.id == task_id)
                .values(
                    status=status,
                    steps=steps,
                    error=error,
                    attempts=tasks.c.attempts + 1,
                    updated_at=_now(),
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"There is no task {task_id}.")

    # ------------------------------------------------------------------ zap status, samples

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
                {"zap_id": zap_id, "paused_reason": reason, "paused_at": _now()},
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
                {"zap_id": zap_id, "samples": list(records), "samples_at": _now()},
            )

    def get_samples(self, zap_id: str) -> list[dict[str, Any]]:
        """The zap's saved samples, or an empty list."""
        with self._read() as connection:
            samples = connection.execute(
                sa.select(zaps.c.samples).where(zaps.c.zap_id == zap_id)
            ).scalar_one_or_none()
        return list(samples or [])

    # ------------------------------------------------------------------ leases

    def acquire_lease(
        self, zap_id: str, owner: str, ttl: float, *, replacing: str | None = None
    ) -> bool:
        """Take the zap's lease for ``ttl`` seconds if it is free, expired or already ours.

        ``replacing`` names a holder known to be gone (a daemon that crashed): its
        lease is taken over before it expires. One atomic statement (``INSERT ... ON
        CONFLICT DO UPDATE ... WHERE``), so two daemons racing for the same zap cannot
        both win.
        """
        with self._write() as connection:
            now = self._db_now(connection)
            statement = self._insert(leases).values(
                zap_id=zap_id, owner=owner, expires_at=now + timedelta(seconds=ttl)
            )
            free = [leases.c.owner == statement.excluded.owner, leases.c.expires_at <= now]
            if replacing is not None:
                free.append(leases.c.owner == replacing)
            statement = statement.on_conflict_do_update(
                index_elements=["zap_id"],
                set_={
                    "owner": statement.excluded.owner,
                    "expires_at": statement.excluded.expires_at,
                },
                where=sa.or_(*free),
            ).returning(leases.c.owner)
            return connection.execute(statement).first() is not None

    def lease_holder(self, zap_id: str) -> str | None:
        """Who holds the zap's lease (expired or not), or ``None``."""
        with self._read() as connection:
            return connection.execute(
                sa.select(leases.c.owner).where(leases.c.zap_id == zap_id)
            ).scalar_one_or_none()

    def renew_lease(self, zap_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease by ``ttl`` seconds from now; false if it is no longer ours."""
        with self._write() as connection:
            now = self._db_now(connection)
            result = connection.execute(
                sa.update(leases)
                .where(leases.c.zap_id == zap_id, leases.c.owner == owner)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            return result.rowcount == 1

    def release_lease(self, zap_id: str, owner: str) -> None:
        """Give the lease up (only if it is ours), so another daemon may take it at once."""
        with self._write() as connection:
            connection.execute(
                sa.delete(leases).where(leases.c.zap_id == zap_id, leases.c.owner == owner)
            )

    def renew_leases(self, owner: str, zap_ids: Iterable[str], ttl: float) -> set[str]:
        """Extend each of our leases on ``zap_ids`` by ``ttl`` seconds from now, in one transaction.

        Returns the zaps whose lease is still ours; a lease another daemon took (once
        ours had expired) is left alone and is missing from the result.
        """
        wanted = list(dict.fromkeys(zap_ids))
        kept: set[str] = set()
        if not wanted:
            return kept
        with self._write() as connection:
            expires_at = self._db_now(connection) + timedelta(seconds=ttl)
            for chunk in _chunks(wanted):
                kept.update(
                    connection.execute(
                        sa.update(leases)
                        .where(leases.c.owner == owner, leases.c.zap_id.in_(list(chunk)))
                        .values(expires_at=expires_at)
                        .returning(leases.c.zap_id)
                    ).scalars()
                )
        return kept

    def release_leases(self, owner: str, zap_ids: Iterable[str] | None = None) -> None:
        """Give up our leases on ``zap_ids`` (all of ``owner``'s leases if ``None``), in one transaction."""
        with self._write() as connection:
            if zap_ids is None:
                connection.execute(sa.delete(leases).where(leases.c.owner == owner))
                return
            for chunk in _chunks(list(dict.fromkeys(zap_ids))):
                connection.execute(
                    sa.delete(leases).where(
                        leases.c.owner == owner, leases.c.zap_id.in_(list(chunk))
                    )
                )


def _keys_of(new: Sequence[NewTask]) -> list[str]:
    """The record keys of ``new`` tasks, in order."""
    return [task.record_key for task in new]


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's timestamp as aware UTC (SQLite's ``max()`` loses the column type)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
