"""Fixtures for the Salesforce plugin tests: the emulator over loopback and an engine double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from zaplite_salesforce import app
from zaplite_salesforce.connection import SalesforceClient

from tests.plugins.salesforce.harness import Org, ZapDouble
from zaplite.sandbox.server import serve_in_thread

try:
    from zaplite.sandbox.salesforce import SalesforceEmulator
except ImportError:  # the package's __init__ may not re-export it yet
    from zaplite.sandbox.salesforce.emulator import SalesforceEmulator


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    """A fresh emulated org served on a loopback port."""
    emu = SalesforceEmulator()
    server = serve_in_thread(emu.app)
    try:
        yield Org(emu=emu, server=server, tmp_path=tmp_path)
    finally:
        server.stop()


@pytest.fixture
async def client(org: Org) -> AsyncIterator[SalesforceClient]:
    """A refresh-token client of the emulated org, closed after the test."""
    sf = org.client()
    try:
        yield sf
    finally:
        await sf.aclose()


@pytest.fixture
def zap() -> Callable[..., ZapDouble]:
    """Build a :class:`ZapDouble` for a trigger of the Salesforce app by name."""

    def build(name: str, client: SalesforceClient, start: Any = "now", **params: Any) -> ZapDouble:
        trigger = app.triggers[name]
        return ZapDouble(trigger, trigger.params(**params), client, start=start)

    return build
