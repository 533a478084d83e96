"""Fixtures every test folder may use; they live in ``tests/support/``.

A folder's own ``conftest.py`` holds only what that folder alone needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from zaplite.testing import logging_restored

pytest_plugins = [
    "tests.support.browser",
    "tests.support.emulators",
    "tests.support.processes",
    "tests.support.stores",
]

# No property test is timed (a shared 2-core machine is no clock), and CI draws the same
# examples at every run, so what fails there fails here too; a run on a workstation still
# draws fresh ones. Loaded here, before any test module builds its own @settings on top.
settings.register_profile("zaplite", deadline=None, print_blob=True)
settings.register_profile("ci", settings.get_profile("zaplite"), derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "zaplite")


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Undo after each test whatever its in-process commands did to the ``zaplite`` logger.

    Otherwise one command run through ``CliRunner`` (a hypothesis example that happens
    to get as far as setting up logging) leaves every later test's ``caplog`` empty.
    """
    with logging_restored():
        yield
