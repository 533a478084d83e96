"""Fixtures for the reliability tests: real processes, real stores, always cleaned up.

- ``procs``: a :class:`~rel_procs.Processes` whose every process is killed at the end.
- ``emulators``: both emulators, each in its own process, on free loopback ports.
- ``store_url``: a new SQLite file, or (``postgresql`` param, when
  ``ZAPLITE_TEST_POSTGRES_URL`` is set) a new PostgreSQL database dropped afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rel_procs import Emulators, Processes

POSTGRES_ENV = "ZAPLITE_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(POSTGRES_ENV, "")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason=f"{POSTGRES_ENV} is not set"),
        ],
    ),
]


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    """Start processes through this; every one is killed (SIGKILL) and reaped at the end."""
    processes = Processes(tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def emulators(procs: Processes) -> Emulators:
    """Salesforce and CleverTap emulators in their own processes (no seeded data)."""
    return Emulators.start(procs)


@pytest.fixture
def postgres_url(zaplite_postgres_url: str) -> str:
    """A new, empty PostgreSQL database, dropped after the test (zaplite.testing's fixture)."""
    return zaplite_postgres_url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a new store: a SQLite file in the project, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return "sqlite:///zaplite.db"  # relative to the project's config file
    return str(request.getfixturevalue("postgres_url"))
