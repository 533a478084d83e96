"""A clock a test moves by hand, for code that takes its time from a callable."""

from __future__ import annotations

__all__ = ["Clock"]


class Clock:
    """A clock the test moves by hand (``clock.now += 60``): a day cannot be waited for."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        """The time the test last set, in seconds."""
        return self.now
