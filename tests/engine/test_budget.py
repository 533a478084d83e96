"""A connection's API budget: its calls projected over a day, and its polling paced to fit."""

from __future__ import annotations

from tests.support.clock import Clock
from zaplite import ApiUse
from zaplite.engine.budget import SHARE_EVERY, Budgets


def _minutes(book: Budgets, clock: Clock, minutes: int, per_minute: int, **use: object):
    """Report ``per_minute`` calls each minute for ``minutes``; the last pace reported."""
    changed = None
    for _ in range(minutes):
        clock.now += 60
        pace = book.note("sf", ApiUse(calls=per_minute, **use))  # type: ignore[arg-type]
        changed = pace or changed
    return changed


def test_nothing_is_decided_while_settling_or_without_an_allowance() -> None:
    clock = Clock()
    book = Budgets(clock, settling=300)
    assert _minutes(book, clock, 5, 1000, allowance=1000, share=0.5) is None
    assert _minutes(book, clock, 10, 1000, allowance=None) is None
    assert book.factor("sf") == 1.0


def test_over_the_budget_polling_slows_evenly_then_returns_on_schedule() -> None:
    clock = Clock()
    book = Budgets(clock, settling=300)
    # 100 calls a minute is 144,000 a day: over half of 100,000.
    pace = _minutes(book, clock, 6, 100, allowance=100_000, share=0.5)
    assert pace is not None and pace.slowed
    assert round(pace.factor, 2) == 2.88 and book.factor("sf") == pace.factor
    assert round(pace.projected) == 144_000 and pace.target == 50_000
    assert "slowed 2.9x" in pace.line() and "budget of 50,000" in pace.line()
    # Polling 2.88 times slower makes 34.7 calls a minute: the same day on schedule, no change.
    assert _minutes(book, clock, 60, round(100 / 2.88), allowance=100_000, share=0.5) is None
    # A larger allowance (or budget) lets it poll on schedule again.
    back = _minutes(book, clock, 2, round(100 / 2.88), allowance=1_000_000, share=0.5)
    assert back is not None and not back.slowed and book.factor("sf") == 1.0
    assert "on schedule again" in back.line()


def test_calls_are_handed_to_the_store_every_few_seconds() -> None:
    clock = Clock()
    book = Budgets(clock)
    book.note("sf", ApiUse(calls=3))
    book.note("other", ApiUse(calls=2))
    assert book.take_unsaved() is None
    clock.now += SHARE_EVERY + 1
    book.note("sf", ApiUse(calls=1))
    assert book.take_unsaved() == {"sf": 4, "other": 2}
    assert book.take_unsaved(every=0) == {}  # nothing new, but time to read the store
