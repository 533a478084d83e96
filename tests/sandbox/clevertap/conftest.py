"""Fixtures for the CleverTap emulator tests: the session's emulator over loopback, and a client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.clevertap.helpers import AUTH
from tests.support.emulators import Account
from zaplite.sandbox.clevertap import CleverTapEmulator


@pytest.fixture
def emu(ct_account: Account) -> CleverTapEmulator:
    """The session's emulator, reset to its constructor settings and emptied."""
    return ct_account.emu


@pytest.fixture
def base_url(ct_account: Account) -> str:
    """The session emulator's base URL."""
    return ct_account.url


@pytest.fixture
def client(emu: CleverTapEmulator, base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client with the right account headers."""
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=10.0) as http:
        yield http
