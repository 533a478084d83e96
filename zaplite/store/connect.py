"""Open the store's database engine, and turn connection failures into clear errors.

SQLite gets the settings a small embedded store wants: WAL journal, a 30 s busy
timeout so that two processes wait for each other instead of failing, foreign
keys, ``synchronous=NORMAL``, and ``BEGIN IMMEDIATE`` for write transactions
(the SQLAlchemy pysqlite recipe: pysqlite's own ``BEGIN`` is switched off and the
engine's ``begin`` event emits ours), so a reader never has to upgrade its lock
to a writer's half way through. PostgreSQL gets psycopg 3 when no driver is named.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

from zaplite import jsoncodec
from zaplite.errors import FileError, ZapliteError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "POSTGRES_CONNECT",
    "READ_ONLY",
    "NotJSONCompatible",
    "StoreUnavailable",
    "StoreUnusable",
    "create_store_engine",
    "display_url",
    "dumps",
    "location",
    "parse_url",
    "sqlite_path",
    "store_error",
    "unavailable",
    "unusable",
]

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a SQLite writer waits for another process's write to finish."""

READ_ONLY = "zaplite_read_only"
"""Execution option: this transaction only reads (SQLite begins it DEFERRED, not IMMEDIATE)."""

FIELD = "store.url"


def parse_url(url: str) -> URL:
    """Parse a store URL; ``postgresql://`` without a driver means psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception:  # ArgumentError, ValueError: the text is not a URL at all
        raise FileError(None, FIELD, "is not a database URL (e.g. sqlite:///zaplite.db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def display_url(url: URL) -> str:
    """The URL as it may be shown: any password masked."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str | None:
    """The SQLite file of ``url``, or ``None`` for another database or an in-memory one."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def location(url: URL) -> str:
    """What an error message names as the place: the SQLite file, or the masked URL."""
    return sqlite_path(url) or display_url(url)


POSTGRES_CONNECT: dict[str, Any] = {
    "connect_timeout": 10,
    "application_name": "zaplite",
    # A server that vanishes without a reset (a failover moving its address, a host
    # powered off, a firewall dropping the flow) would otherwise leave a query waiting
    # for hours: keepalives find an idle connection dead in about 30 s, and
    # tcp_user_timeout one whose sent data goes unacknowledged for 30 s. The daemon then
    # sees an outage, says so and polls again once the store answers.
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
"""libpq options for a PostgreSQL store; one given in the store URL's query wins."""


def create_store_engine(url: URL) -> Engine:
    """Create the engine for ``url`` (SQLite or PostgreSQL); it connects lazily."""
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise FileError(
            display_url(url), FIELD, f"zaplite stores live in SQLite or PostgreSQL, not {backend}"
        )
    try:
        if backend == "sqlite":
            return _sqlite_engine(url)
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            json_serializer=dumps,
            connect_args={k: v for k, v in POSTGRES_CONNECT.items() if k not in url.query},
        )
    except ImportError as exc:
        raise FileError(
            display_url(url),
            FIELD,
            f"the database driver is not installed ({exc.name or exc}); "
            "install it, e.g. pip install 'zaplite[postgres]'",
        ) from None
    except sa.exc.NoSuchModuleError:
        raise FileError(
            display_url(url), FIELD, f"unknown database driver {url.drivername!r}"
        ) from None


class NotJSONCompatible(ValueError):
    """A value given to the store cannot be stored as JSON (the transaction is rolled back)."""


def dumps(value: Any) -> str:
    """Serialise a JSON column value; anything not JSON-compatible is :class:`NotJSONCompatible`."""
    try:
        return jsoncodec.dumps(value)
    except (TypeError, ValueError) as exc:
        raise NotJSONCompatible(f"A value to store is not JSON-compatible ({exc}).") from None


def _sqlite_engine(url: URL) -> Engine:
    """A pysqlite engine with WAL, busy timeout, foreign keys and BEGIN IMMEDIATE writes."""
    memory = sqlite_path(url) is None
    options: dict[str, Any] = {
        "json_serializer": dumps,
        "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    }
    if memory:
        # One connection holds the whole in-memory database: a pool of exactly one, so
        # threads take turns with it (each transaction is its own) instead of sharing it.
        options.update(poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=60)
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting (up to the busy timeout) for a process creating it.

    SQLite answers ``PRAGMA journal_mode = WAL`` on a file still in its first journal mode
    with "database is locked" at once, without the busy timeout, while another connection
    holds a write lock on it: two processes opening a brand-new store together would
    then see one of them give up.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class StoreUnusable(FileError):
    """The store cannot be used any more (a damaged or read-only SQLite file): stop, don't retry."""


def unusable(exc: BaseException, url: URL) -> StoreUnusable | None:
    """A :class:`StoreUnusable` if ``exc`` says the SQLite file is damaged or read-only, else ``None``.

    A locked database or a lost server connection is not in this class: those pass.
    """
    if url.get_backend_name() != "sqlite":
        return None
    error = store_error(exc, url)
    if "damaged" not in error.reason and "read-only" not in error.reason:
        return None
    return StoreUnusable(error.file, error.field, error.reason)


class StoreUnavailable(ZapliteError):
    """The store's database server cannot be reached now (restarting, network cut): wait, don't stop.

    The message is one sentence naming the server and the driver's reason.
    """


def unavailable(exc: BaseException, url: URL) -> StoreUnavailable | None:
    """A :class:`StoreUnavailable` if ``exc`` says the database server is out of reach, else ``None``.

    Only a server (PostgreSQL) can be unreachable: a connection that failed, was reset,
    or was closed by the server (``OperationalError``, ``InterfaceError``, or any error
    SQLAlchemy marks as having invalidated the connection). SQLite's errors pass.
    """
    if url.get_backend_name() == "sqlite":
        return None
    lost = isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    if not lost and not getattr(exc, "connection_invalidated", False):
        return None
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    text = lines[0].strip() if lines else type(original).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    return StoreUnavailable(f"the store at {server} is unreachable: {text[:200]}")


def store_error(exc: BaseException, url: URL) -> FileError:
    """Describe why the store at ``url`` could not be opened, in one sentence."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    path = sqlite_path(url)
    if url.get_backend_name() == "sqlite":
        reason = _sqlite_reason(text, path)
    else:
        reason = _server_reason(text, url)
    return FileError(location(url), FIELD, reason)


def _sqlite_reason(text: str, path: str | None) -> str:
    """The reason a SQLite file could not be used, from the driver's message."""
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return "the file is not a SQLite database or is damaged"
    if "readonly" in lowered or "read-only" in lowered:
        return "the database is read-only here (the file and its folder must be writable)"
    if "locked" in lowered or "busy" in lowered:
        return f"the database stayed locked by another process for {BUSY_TIMEOUT_SECONDS:g} seconds"
    if "unable to open" in lowered and path is not None:
        return _unopenable(Path(path))
    return f"the database could not be opened ({text})"


def unopenable_reason(path: Path) -> str | None:
    """Why a new SQLite file could not be created at ``path``, or ``None`` if it can be."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if path.is_dir():
        return "the path is a folder, not a database file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None


def _unopenable(path: Path) -> str:
    """Say why SQLite could not open or create ``path``."""
    return (
        unopenable_reason(path)
        or "the database file cannot be created or opened here (check its permissions)"
    )


def _server_reason(text: str, url: URL) -> str:
    """The reason a database server could not be used, from the driver's message."""
    lowered = text.lower()
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    if "password authentication failed" in lowered or "authentication" in lowered:
        return f"the server at {server} refused the user name or password"
    if "role" in lowered and "does not exist" in lowered:
        return f"the server at {server} has no user {url.username!r}"
    if "does not exist" in lowered and "database" in lowered:
        return f"the database {url.database!r} does not exist on the server at {server}"
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered:
        return f"cannot reach the database server at {server} (is it running?)"
    if "connection" in lowered and "failed" in lowered:
        return f"cannot connect to the database server at {server} ({text})"
    return f"the database at {server} could not be used ({text})"
