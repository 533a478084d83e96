"""Fixtures for the CleverTap plugin tests: one emulator over loopback HTTP, fast retries."""

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
from zaplite.retry import RetryPolicy
from zaplite.sandbox.clevertap import CleverTapEmulator

T = TypeVar("T")


@pytest.fixture
def emu(ct_account: Account) -> CleverTapEmulator:
    """The emulator, emptied and back to its default settings (tests.support's ``ct_account``)."""
    return ct_account.emu


@pytest.fixture
def settings(ct_account: Account) -> Callable[..., Any]:
    """Build connection settings pointing at the emulator."""

    def make(**overrides: Any) -> CleverTapConnection:
        values: dict[str, Any] = {
            "account_id": ct_account.emu.account_id,
            "passcode": ct_account.emu.passcode,
            "endpoint": ct_account.url,
            "timeout": 10.0,
        }
        values.update(overrides)
        return CleverTapConnection.model_validate(values)

    return make


def run_with(
    settings: CleverTapConnection,
    work: Callable[[ActionContext], Awaitable[T]],
    step: str = "ct",
    *,
    attempts: int = 4,
    max_wait: float = 0.05,
) -> T:
    """Connect and run ``work(ctx)`` in a fresh event loop, retried as the engine retries it.

    Transient faults are retried by zaplite's one retry policy (here with short waits),
    as the engine does around every perform; then the client is closed.
    """
    policy = RetryPolicy(attempts=attempts, initial_wait=0.01, max_wait=max_wait)

    async def main() -> T:
        client = connect(settings)
        try:
            ctx = context(client, step)
            return await policy.call(lambda: work(ctx))
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
