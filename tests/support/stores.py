"""The store backends every store test runs on: SQLite and PostgreSQL.

SQLite uses a real file in ``tmp_path``. PostgreSQL uses the server named by
``ZAPLITE_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
and gives each test a database of its own, dropped afterwards (``zaplite.testing``'s
``zaplite_postgres_url``), so tests may run while others use the same server. Without
the variable the PostgreSQL half is skipped, with the reason shown in pytest's summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from zaplite.store import Store
from zaplite.testing import POSTGRES_ENV

__all__ = ["BACKENDS", "POSTGRES_URL", "backend", "needs_postgres", "postgres_url", "store"]

POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason=f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped"
)
"""Skip a test that needs the PostgreSQL server when none is named."""

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, needs_postgres]),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on: ``"sqlite"`` or ``"postgresql"``."""
    return str(request.param)


@pytest.fixture
def postgres_url(zaplite_postgres_url: str) -> str:
    """A new, empty PostgreSQL database, dropped after the test."""
    return zaplite_postgres_url


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
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
