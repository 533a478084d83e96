"""Fixtures every test folder may use; they live in ``tests/support/``.

A folder's own ``conftest.py`` holds only what that folder alone needs.
"""

from __future__ import annotations

pytest_plugins = [
    "tests.support.browser",
    "tests.support.emulators",
    "tests.support.processes",
    "tests.support.stores",
]
