"""Time in tests: a clock a test moves by hand, and a wait clear of a UTC midnight."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "clear_of_midnight"]


class Clock:
    """A clock the test moves by hand (``clock.now += 60``): a day cannot be waited for."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        """The time the test last set, in seconds."""
        return self.now


def clear_of_midnight(margin: float = 30.0) -> None:
    """Return at once, or, when a UTC midnight is less than ``margin`` seconds away, after it.

    For a test that writes a record "today" and then asks the code under test, which reads
    the real clock, for today's records: a midnight between the two would make the record
    yesterday's. A test that runs for less than ``margin`` seconds after this call sees
    one UTC day.
    """
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    left = (midnight - now).total_seconds()
    if left < margin:
        time.sleep(left + 0.01)
