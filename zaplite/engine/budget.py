"""Each connection's API budget: its calls counted, its day projected, its polling paced.

An app that knows its service's daily API allowance reports, through ``App.api_use``,
the calls made through a connection since it was last asked, the allowance, and the
share of it zaplite may use (the Salesforce connection's ``api_budget``). This book adds
the calls up per minute and projects the connection's day from its last hour (or from
as long as it has counted, once that is a few minutes). When the projection is over
the share, the connection's zaps poll evenly less often: their schedules are stretched
by the *pace*, the factor that brings the projected day back to the share. When the
calls allow it again the pace falls back, down to 1 (polling on schedule). A change of
less than a tenth is ignored, so the pace does not flutter.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from zaplite.plugin.api import ApiUse

__all__ = ["DAY", "Budgets", "Pace"]

DAY = 24 * 60 * 60.0
WINDOW = 3600.0
"""Seconds of calls a projection is made from."""

SETTLING = 300.0
"""Seconds of counting before a connection's first projection."""

STEADY = 0.1
"""A new pace within this fraction of the current one is not a change."""


@dataclass(frozen=True)
class Pace:
    """How a connection polls: ``factor`` times slower than its zaps' schedules, and why."""

    connection: str
    factor: float
    projected: float
    """API calls a day the connection would make on schedule."""
    target: float
    """API calls a day it may make (its share of the allowance)."""

    @property
    def slowed(self) -> bool:
        """Whether its zaps poll less often than their schedules."""
        return self.factor > 1.0

    def line(self) -> str:
        """One sentence for ``zaplite run``, the log and the console."""
        if self.slowed:
            return (
                f"connection {self.connection}: polling slowed {self.factor:.1f}x, as on "
                f"schedule it would use about {self.projected:,.0f} API calls a day, over its "
                f"budget of {self.target:,.0f}"
            )
        return (
            f"connection {self.connection}: polling on schedule again (about "
            f"{self.projected:,.0f} API calls a day, budget {self.target:,.0f})"
        )


class _Count:
    """Calls per minute over the last :data:`WINDOW` seconds."""

    def __init__(self, now: float, settling: float) -> None:
        self.started = now
        self.settling = settling
        self.minutes: deque[list[float]] = deque()  # [minute, calls]

    def add(self, calls: int, now: float) -> None:
        minute = now // 60
        if self.minutes and self.minutes[-1][0] == minute:
            self.minutes[-1][1] += calls
        else:
            self.minutes.append([minute, float(calls)])
        while self.minutes and self.minutes[0][0] <= minute - WINDOW / 60:
            self.minutes.popleft()

    def per_day(self, now: float) -> float | None:
        """Calls a day at the rate of the counted window (``None`` while still settling)."""
        span = min(WINDOW, now - self.started)
        if span < self.settling:
            return None
        return sum(calls for _minute, calls in self.minutes) / span * DAY


class Budgets:
    """Every connection's counted calls and current pace (one book per engine)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, settling: float = SETTLING
    ) -> None:
        self._clock = clock
        self.settling = settling
        self._counts: dict[str, _Count] = {}
        self.paces: dict[str, Pace] = {}
        """The last pace of each connection that has one."""
        self.unsaved: dict[str, int] = {}
        """Calls counted since the store was last told (see :meth:`take_unsaved`)."""
        self._saved_at = clock()

    def take_unsaved(self, every: float = 60.0) -> dict[str, int]:
        """The calls to add to the store now (at most once per ``every`` seconds), taken."""
        if not self.unsaved or self._clock() - self._saved_at < every:
            return {}
        self._saved_at = self._clock()
        taken, self.unsaved = self.unsaved, {}
        return taken

    def factor(self, connection: str | None) -> float:
        """How many times slower than their schedules the connection's zaps poll now."""
        pace = self.paces.get(connection or "")
        return pace.factor if pace is not None else 1.0

    def note(self, connection: str, use: ApiUse) -> Pace | None:
        """Count a report of ``connection``'s use; the new pace when it changed, else ``None``."""
        now = self._clock()
        current = self.factor(connection)
        if use.calls:
            self.unsaved[connection] = self.unsaved.get(connection, 0) + use.calls
        count = self._counts.get(connection)
        if count is None:  # counting starts now: the calls before had no known span
            self._counts[connection] = _Count(now, self.settling)
            return None
        if use.calls:
            # Counted as the calls the same polls would have made on schedule.
            count.add(use.calls * current, now)
        if not use.allowance or use.share <= 0:
            return None
        projected = count.per_day(now)  # the calls a day on schedule
        if projected is None:
            return None
        target = use.allowance * use.share
        factor = max(1.0, projected / target)
        if abs(factor - current) <= STEADY * current:
            return None
        if factor == 1.0 and current == 1.0:
            return None
        pace = Pace(connection, factor, projected, target)
        self.paces[connection] = pace
        return pace
