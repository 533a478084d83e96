"""Fixtures for the Salesforce emulator tests: a fresh emulator served on loopback, and clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sf_emu_helpers import VERSION, get_token

from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread


@pytest.fixture
def emu() -> SalesforceEmulator:
    """An empty org."""
    return SalesforceEmulator()


@pytest.fixture
def server(emu: SalesforceEmulator) -> Iterator[RunningServer]:
    """``emu`` served over HTTP on 127.0.0.1."""
    with serve_in_thread(emu.app) as running:
        yield running


@pytest.fixture
def api(server: RunningServer, emu: SalesforceEmulator) -> Iterator[httpx.Client]:
    """An authenticated client whose base URL is ``/services/data/v64.0``."""
    token = get_token(server, emu)
    with httpx.Client(
        base_url=f"{server.url}/services/data/v{VERSION}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as client:
        yield client
