"""Daemons sharing a store pace a connection by the calls of all of them, not their own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.clock import Clock
from zaplite import ApiUse
from zaplite.engine.budget import Budgets, share_calls
from zaplite.store import Store

ALLOWANCE = 100_000  # half of it is 50,000 calls a day: 34.7 a minute
PER_MINUTE = 50  # one daemon's calls a minute on schedule: 72,000 a day


class Daemon:
    """A daemon's budget book and its own store, polling one connection on schedule."""

    def __init__(self, store_url: str, clock: Clock) -> None:
        self.store = Store(store_url)
        self.book = Budgets(clock, settling=300)

    def minute(self) -> None:
        """A minute of polling at the current pace, then its report (as the engine does)."""
        asyncio.run(share_calls(self.book, self.store))
        calls = round(PER_MINUTE / self.book.factor("sf"))
        self.book.note("sf", ApiUse(calls=calls, allowance=ALLOWANCE, share=0.5))


@pytest.fixture
def daemons(store_url: str) -> Iterator[tuple[Clock, list[Daemon]]]:
    """Two daemons on one store (the SQLite file or the PostgreSQL database), one clock."""
    clock = Clock()
    pair = [Daemon(store_url, clock), Daemon(store_url, clock)]
    try:
        yield clock, pair
    finally:
        for daemon in pair:
            daemon.store.close()


def _run(clock: Clock, daemons: list[Daemon], minutes: int) -> None:
    for _ in range(minutes):
        clock.now += 60
        for daemon in daemons:
            daemon.minute()


def test_a_lone_daemon_paces_by_its_own_calls(daemons: tuple[Clock, list[Daemon]]) -> None:
    clock, (alone, _idle) = daemons
    _run(clock, [alone], 90)
    assert round(alone.book.factor("sf"), 1) == 1.4  # 72,000 a day over 50,000
    assert alone.store.api_calls_since("sf", datetime.now(UTC) - timedelta(hours=2)) > 0


def test_two_daemons_pace_by_the_sum_of_their_calls(daemons: tuple[Clock, list[Daemon]]) -> None:
    clock, pair = daemons
    _run(clock, pair, 90)
    # Together they would make 144,000 calls a day on schedule: each slows 2.9 times,
    # where alone each would see 72,000 and slow 1.4 times, and the two overspend.
    for daemon in pair:
        assert 2.6 <= daemon.book.factor("sf") <= 3.2
        pace = daemon.book.paces["sf"]
        assert 130_000 <= pace.projected <= 160_000
    # What they make now fits the budget: 34.7 calls a minute between them.
    made = sum(round(PER_MINUTE / d.book.factor("sf")) for d in pair)
    assert made <= 36
