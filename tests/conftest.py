"""Fixtures every test folder may use; they live in ``tests/support/``.

A folder's own ``conftest.py`` holds only what that folder alone needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zaplite.testing import logging_restored

pytest_plugins = [
    "tests.support.browser",
    "tests.support.emulators",
    "tests.support.processes",
    "tests.support.stores",
]


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Undo after each test whatever its in-process commands did to the ``zaplite`` logger.

    Otherwise one command run through ``CliRunner`` (a hypothesis example that happens
    to get as far as setting up logging) leaves every later test's ``caplog`` empty.
    """
    with logging_restored():
        yield
