"""The store's foundation: opening the database, transactions, and the SQL both dialects share.

:class:`StoreBase` opens (and migrates) the database and hands each method its own
pooled connection and transaction, so the engine may call the store from worker
threads. Writes on SQLite begin ``IMMEDIATE`` (see :mod:`zaplite.store.connect`);
reads begin deferred. The SQL is portable between SQLite and PostgreSQL; the only
dialect-specific statement is the ``INSERT ... ON CONFLICT`` upsert, which both spell
the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from zaplite.errors import FileError, UsageError
from zaplite.store import migrate
from zaplite.store.connect import (
    FIELD,
    READ_ONLY,
    NotJSONCompatible,
    create_store_engine,
    display_url,
    location,
    parse_url,
    sqlite_path,
    store_error,
    unavailable,
    unopenable_reason,
    unusable,
)
from zaplite.store.fileguard import FileGuard
from zaplite.store.room import DiskRoom, is_full
from zaplite.store.schema import leases, task_hours

__all__ = ["CHUNK", "DEFAULT_MAX_KEYS_PER_ZAP", "NotFound", "StoreBase", "chunks", "utc_now"]

DEFAULT_MAX_KEYS_PER_ZAP = 500_000
"""How many dedup keys a zap keeps before :meth:`commit_page` acts (see ``KeysFull``).

Keys a trigger's next poll may read again are never forgotten for it: a page that
offers a settled cursor moves the cursor past its records instead.
"""

CHUNK = 500
"""Largest ``IN (...)`` list sent in one query."""


class NotFound(UsageError, LookupError):
    """A task or run asked for by id does not exist."""


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """Split ``items`` into slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoreBase:
    """An open store database: connections, transactions and the statements every part shares."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        new_store: bool = False,
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
            raise FileError(path, FIELD, "the database file does not exist")
        self._guard = FileGuard(path) if path is not None else None
        """The SQLite file's identity and marker (see :mod:`zaplite.store.fileguard`)."""
        self._room = DiskRoom(self._guard.path, FIELD) if self._guard is not None else None
        """The free space on the SQLite file's disk (see :mod:`zaplite.store.room`)."""
        created = (
            self._guard.before_open(create=create, new_store=new_store)
            if self._guard is not None
            else False
        )
        if path is not None and create and not Path(path).exists():
            problem = unopenable_reason(Path(path))
            if problem is not None:  # before the migrations, so the reason is about the file
                raise FileError(path, FIELD, problem)
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
            raise FileError(
                location(parsed),
                FIELD,
                f"the database was written by a newer zaplite release (schema revision "
                f"{exc.revision!r}); upgrade zaplite to use it",
            ) from None
        except migrate.EmptyDatabase:
            self._engine.dispose()
            raise FileError(
                location(parsed), FIELD, "the database holds no zaplite store"
            ) from None
        except migrate.ForeignTables as exc:
            self._engine.dispose()
            raise FileError(
                location(parsed),
                FIELD,
                f"the database already holds tables zaplite did not create "
                f"({', '.join(exc.names)}); give zaplite a database of its own",
            ) from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._engine.dispose()
            raise store_error(exc, parsed) from None
        if self._guard is not None:
            self._guard.opened(created=created)

    # ------------------------------------------------------------------ plumbing

    def check_writable(self) -> None:
        """Raise a :class:`~zaplite.errors.FileError` unless this store can be written.

        Opening only reads (a read-only SQLite file opens fine), so a command that
        writes asks first: a write statement that changes nothing, rolled back.
        """
        self.check_file()
        try:
            with self._engine.connect() as connection, connection.begin() as transaction:
                connection.execute(sa.delete(leases).where(sa.false()))
                transaction.rollback()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise store_error(exc, self._url) from None
        if self._guard is not None:  # a store that was there before the marker was
            self._guard.mark()

    def check_room(self, needed: int) -> None:
        """Raise :class:`~zaplite.store.room.StoreFull` unless about ``needed`` bytes can be recorded.

        The engine asks before it sends a page, so a page is never sent into a store
        that cannot record it. Only a SQLite file's disk is checked.
        """
        if self._room is not None:
            self._room.check(needed)

    def check_file(self) -> None:
        """Raise :class:`~zaplite.store.connect.StoreUnusable` if the SQLite file was deleted or replaced.

        Every read and write asks first (a ``stat``, microseconds), so a page is never
        sent once its store is gone.
        """
        if self._guard is not None:
            self._guard.check()

    def ping(self) -> None:
        """Read one row of the store (its leases): raises if the store cannot be read now."""
        with self._read() as connection:
            connection.execute(sa.select(leases.c.zap_id).limit(1)).all()

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
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
        (one sentence), here and in :meth:`_write`; a database server that cannot be
        reached raises :class:`~zaplite.store.connect.StoreUnavailable`.
        """
        self.check_file()
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
        self.check_file()
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.StatementError as exc:
            if isinstance(exc.orig, NotJSONCompatible):
                raise exc.orig from None
            if self._room is not None and is_full(exc):  # wait for room; never stop for it
                raise self._room.failed() from None
            if isinstance(exc, sa.exc.DBAPIError):
                self._raise_if_unusable(exc)
            raise
        except OSError as exc:
            if self._room is not None and is_full(exc):
                raise self._room.failed() from None
            raise

    def _raise_if_unusable(self, exc: sa.exc.DBAPIError) -> None:
        """Raise ``StoreUnusable`` for a damaged file, ``StoreUnavailable`` for a server out of reach."""
        problem = unusable(exc, self._url)
        if problem is not None:
            raise problem from None
        lost = unavailable(exc, self._url)
        if lost is not None:
            raise lost from None

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

    def _count_hours(
        self, connection: sa.Connection, zap_id: str, at: datetime, counts: Mapping[str, int]
    ) -> None:
        """Add ``counts`` (status: tasks, negative to take away) to the zap's hour of ``at``."""
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        statement = self._insert(task_hours)
        statement = statement.on_conflict_do_update(
            index_elements=["zap_id", "hour", "status"],
            set_={"count": task_hours.c.count + statement.excluded["count"]},
        )
        rows = [
            {"zap_id": zap_id, "hour": hour, "status": status, "count": count}
            for status, count in counts.items()
            if count
        ]
        if rows:
            connection.execute(statement, rows)

    def _db_now(self, connection: sa.Connection) -> datetime:
        """The shared clock: the server's on PostgreSQL (daemons on several machines)."""
        if self._dialect == "postgresql":
            value = connection.execute(sa.select(sa.func.now())).scalar_one()
            return value.astimezone(UTC)
        return utc_now()
