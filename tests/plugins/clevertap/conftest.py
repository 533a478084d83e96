"""Fixtures for the CleverTap plugin tests: one emulator over loopback HTTP, fast retry settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from zaplite_clevertap import CleverTapConnection
from zaplite_clevertap.connection import CleverTapClient, connect

from tests.support.emulators import Account
from zaplite import ActionContext
from zaplite.sandbox.clevertap import CleverTapEmulator

T = TypeVar("T")


@pytest.fixture
def emu(ct_account: Account) -> CleverTapEmulator:
    """The emulator, emptied and back to its default settings (tests.support's ``ct_account``)."""
    return ct_account.emu


@pytest.fixture
def settings(ct_account: Account) -> Callable[..., Any]:
    """Build connection settings pointing at the emulator, with retries fast enough for tests."""

    def make(**overrides: Any) -> CleverTapConnection:
        values: dict[str, Any] = {
            "account_id": ct_account.emu.account_id,
            "passcode": ct_account.emu.passcode,
            "endpoint": ct_account.url,
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
