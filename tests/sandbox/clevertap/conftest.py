"""Fixtures for the CleverTap emulator tests: one emulator served over loopback for the session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.clevertap.helpers import ACCOUNT_ID, AUTH, PASSCODE
from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread


@pytest.fixture(scope="session")
def ct_served() -> Iterator[tuple[CleverTapEmulator, RunningServer]]:
    """One emulator and its server for the whole session (reset before each test)."""
    emu = CleverTapEmulator(ACCOUNT_ID, PASSCODE)
    server = serve_in_thread(emu.app)
    try:
        yield emu, server
    finally:
        server.stop()


@pytest.fixture
def emu(ct_served: tuple[CleverTapEmulator, RunningServer]) -> CleverTapEmulator:
    """The session's emulator, reset to its constructor settings and emptied."""
    emulator = ct_served[0]
    emulator.reset()
    return emulator


@pytest.fixture
def base_url(ct_served: tuple[CleverTapEmulator, RunningServer]) -> str:
    """The session emulator's base URL."""
    return ct_served[1].url


@pytest.fixture
def client(emu: CleverTapEmulator, base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client with the right account headers."""
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=10.0) as http:
        yield http
