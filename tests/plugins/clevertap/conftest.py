"""Fixtures for the CleverTap plugin tests: one emulator over loopback HTTP, fast retry settings."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from zaplite_clevertap import CleverTapConnection
from zaplite_clevertap.connection import CleverTapClient, connect

from zaplite import ActionContext
from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread

ACCOUNT = "TEST-ZAP-LITE"
PASSCODE = "SANDBOX-PASSCODE"
T = TypeVar("T")


@pytest.fixture(scope="session")
def ct_server() -> Iterator[tuple[CleverTapEmulator, RunningServer]]:
    """One emulator served for the whole session (reset before each test that uses it)."""
    emulator = CleverTapEmulator(account_id=ACCOUNT, passcode=PASSCODE, unprocessed_form="string")
    server = serve_in_thread(emulator.app)
    try:
        yield emulator, server
    finally:
        server.stop()


@pytest.fixture
def emu(ct_server: tuple[CleverTapEmulator, RunningServer]) -> CleverTapEmulator:
    """The emulator, emptied and back to its default settings.

    Requests a client gave up on (timeouts) may still be running on the server; they
    are waited for first so that they cannot store into the next test's emulator.
    """
    emulator, _ = ct_server
    deadline = time.monotonic() + 30
    while emulator.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.01)
    emulator.reset()
    return emulator


@pytest.fixture
def settings(ct_server: tuple[CleverTapEmulator, RunningServer]) -> Callable[..., Any]:
    """Build connection settings pointing at the emulator, with retries fast enough for tests."""
    _, server = ct_server

    def make(**overrides: Any) -> CleverTapConnection:
        values: dict[str, Any] = {
            "account_id": ACCOUNT,
            "passcode": PASSCODE,
            "endpoint": server.url,
            "timeout": 10.0,
            "retry_attempts": 4,
            "retry_total": 20.0,
            "retry_initial": 0.01,
            "retry_max_wait": 0.05,
        }
        values.update(overrides)
        return CleverTapConnection.model_validate(values)

    return make


def run_with(
    settings: CleverTapConnection, work: Callable[[ActionContext], Awaitable[T]], step: str = "ct"
) -> T:
    """Connect, run ``work(ctx)`` in a fresh event loop, and close the client."""

    async def main() -> T:
        client = connect(settings)
        try:
            return await work(context(client, step))
        finally:
            await client.aclose()

    return asyncio.run(main())


def context(client: CleverTapClient, step: str = "ct") -> ActionContext:
    """An ``ActionContext`` for a step of a test zap."""
    return ActionContext(
        zap_id="test-zap", step_id=step, connection=client, log=logging.getLogger("test")
    )


@pytest.fixture
def run() -> Callable[..., Any]:
    """``run(settings, work, step="ct")``: run ``work(ctx)`` against a fresh client."""
    return run_with
