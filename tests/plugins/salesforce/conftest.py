"""Fixtures for the Salesforce plugin tests: the emulator over loopback and an engine double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from zaplite_salesforce import app
from zaplite_salesforce.connection import SalesforceClient

from tests.plugins.salesforce.harness import ZapDouble
from tests.support.emulators import Org


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture
def org(sf_org: Org) -> Org:
    """A fresh emulated org served on a loopback port (tests.support's ``sf_org``)."""
    return sf_org


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
