"""Fixtures for the reliability tests: real processes, real stores, always cleaned up.

- ``emulators``: both emulators, each in its own process, on free loopback ports.
- ``store_url``: a SQLite file in the project folder, or (the ``postgresql`` backend, when
  ``ZAPLITE_TEST_POSTGRES_URL`` is set) a new PostgreSQL database dropped afterwards.
"""

from __future__ import annotations

import pytest

from tests.support.processes import Emulators, Processes


@pytest.fixture
def emulators(procs: Processes) -> Emulators:
    """Salesforce and CleverTap emulators in their own processes (no seeded data)."""
    return Emulators.start(procs)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A URL for a new store: a SQLite file in the project, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return "sqlite:///zaplite.db"  # relative to the project's config file
    return str(request.getfixturevalue("postgres_url"))
