"""Fixtures for the store tests: every store test runs on SQLite and on PostgreSQL.

SQLite uses a real file in ``tmp_path``. PostgreSQL uses the server named by
``ZAPLITE_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
and gives each test a database of its own, dropped afterwards, so tests may run
while others use the same server. Without the variable the PostgreSQL half is
skipped, with the reason shown in pytest's summary.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zaplite.store import Store

POSTGRES_ENV = "ZAPLITE_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason=f"{POSTGRES_ENV} is not set: PostgreSQL store tests skipped"
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, needs_postgres]),
]


def _admin_engine() -> sa.Engine:
    """An autocommit engine on the test server, for CREATE/DROP DATABASE."""
    url = make_url(POSTGRES_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    if not POSTGRES_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL store tests skipped")
    name = f"zaplite_store_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on: ``"sqlite"`` or ``"postgresql"``."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: object, request: pytest.FixtureRequest) -> str:
    """A URL for a new, empty store on the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on a new database, closed after the test."""
    opened = Store(store_url)
    try:
        yield opened
    finally:
        opened.close()
