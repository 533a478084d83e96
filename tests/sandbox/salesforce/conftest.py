"""Fixtures for the Salesforce emulator tests: a fresh emulator served on loopback, and clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.salesforce.helpers import SSL_CONTEXT, VERSION, get_token
from tests.support.emulators import SharedServer
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer


@pytest.fixture
def emu() -> SalesforceEmulator:
    """An empty org."""
    return SalesforceEmulator()


@pytest.fixture
def server(emu: SalesforceEmulator, sf_server: SharedServer) -> RunningServer:
    """``emu`` served over real HTTP on 127.0.0.1 (the session's server, switched to this test's org)."""
    return sf_server.serve(emu)


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
