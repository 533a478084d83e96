"""Fixtures for the Salesforce emulator tests: a fresh emulator served on loopback, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.sandbox.salesforce.helpers import SSL_CONTEXT, VERSION, get_token
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread


@pytest.fixture
def emu() -> SalesforceEmulator:
    """An empty org."""
    return SalesforceEmulator()


class _Switch:
    """An ASGI app that forwards to the current test's emulator (one server for the session)."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[tuple[RunningServer, _Switch]]:
    switch = _Switch()
    with serve_in_thread(switch) as running:
        yield running, switch


@pytest.fixture
def server(emu: SalesforceEmulator, _shared_server: tuple[RunningServer, _Switch]) -> RunningServer:
    """``emu`` served over real HTTP on 127.0.0.1 (a session-wide server, switched to this test's org)."""
    running, switch = _shared_server
    switch.target = emu.app
    return running


@pytest.fixture
def api(server: RunningServer, emu: SalesforceEmulator) -> Iterator[httpx.Client]:
    """An authenticated client whose base URL is ``/services/data/v64.0``."""
    token = get_token(server, emu)
    with httpx.Client(
        base_url=f"{server.url}/services/data/v{VERSION}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        verify=SSL_CONTEXT,
    ) as client:
        yield client
