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

Several daemons sharing a store share a connection's allowance, so each projects the
calls of all of them: every :data:`SHARE_EVERY` seconds, :func:`share_calls` adds this
daemon's new calls to the store's hourly counts and reads those counts back; what grew
there beyond its own calls is its peers' calls since the last look, counted in the
current minute as if made here. A daemon alone sees no such growth, so it paces as if
there were no store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from zaplite.plugin.api import ApiUse

__all__ = ["DAY", "SHARE_EVERY", "Budgets", "CallCounts", "Pace", "share_calls"]

log = logging.getLogger("zaplite.engine")

DAY = 24 * 60 * 60.0
WINDOW = 3600.0
"""Seconds of calls a projection is made from."""

SETTLING = 300.0
"""Seconds of counting before a connection's first projection."""

STEADY = 0.1
"""A new pace within this fraction of the current one is not a change."""

SHARE_EVERY = 10.0
"""Seconds between two exchanges of call counts with the store (see :func:`share_calls`)."""

Hours = Mapping[tuple[str, datetime], int]
"""Calls counted in the store, by connection and hour."""


class CallCounts(Protocol):
    """The part of the store that keeps every daemon's calls per connection and hour."""

    def add_api_calls(self, calls: Mapping[str, int]) -> None:
        """Add ``calls`` (connection: calls) to the current hour."""

    def api_call_hours(self, since: datetime) -> dict[tuple[str, datetime], int]:
        """Every connection's count in each hour from the one holding ``since``."""


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
        self._saved: dict[str, int] = {}
        """This book's calls added to the store since its counts were last read."""
        self._seen: dict[tuple[str, datetime], int] | None = None
        """The store's counts at the last read (``None`` before the first)."""
        self.sharing = False
        """Whether :func:`share_calls` is talking to the store for this book now."""

    def take_unsaved(self, every: float = SHARE_EVERY) -> dict[str, int] | None:
        """The calls to add to the store now, taken; ``None`` until ``every`` seconds passed.

        An empty answer still means it is time to read the store's counts back.
        """
        if self._clock() - self._saved_at < every:
            return None
        self._saved_at = self._clock()
        taken, self.unsaved = self.unsaved, {}
        return taken

    def saved(self, calls: Mapping[str, int]) -> None:
        """Note that ``calls`` (from :meth:`take_unsaved`) are now in the store."""
        for name, n in calls.items():
            self._saved[name] = self._saved.get(name, 0) + n

    def unsave(self, calls: Mapping[str, int]) -> None:
        """Give back ``calls`` the store could not take, to be added next time."""
        for name, n in calls.items():
            self.unsaved[name] = self.unsaved.get(name, 0) + n

    def observe(self, hours: Hours) -> dict[str, int]:
        """Count the calls other daemons added to the store since the last read; those calls.

        ``hours`` are read from a first hour that only moves forward, so an hour in them
        that the last read lacked did not exist then (hours are only ever added to, and
        forgotten days later). What grew, less this book's own calls saved since, was
        added by the other daemons.
        """
        seen, self._seen = self._seen, dict(hours)
        saved, self._saved = self._saved, {}
        if seen is None:  # the first read: what is there already has no known span
            return {}
        grown: dict[str, int] = {}
        for (name, hour), calls in hours.items():
            grown[name] = grown.get(name, 0) + calls - seen.get((name, hour), 0)
        now = self._clock()
        others: dict[str, int] = {}
        for name, calls in grown.items():
            peers = calls - saved.get(name, 0)
            count = self._counts.get(name)
            if peers <= 0 or count is None:
                continue
            others[name] = peers
            # The peers are paced as this daemon is: counted as their calls on schedule.
            count.add(peers * self.factor(name), now)
        return others

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


async def share_calls(book: Budgets, store: CallCounts, every: float = SHARE_EVERY) -> None:
    """Every ``every`` seconds: add the book's new calls to the store, count its peers' calls.

    Neither step ever fails a run: calls the store could not take are kept for the next
    time, and a failed read leaves the peers' calls to be counted at the next one.
    """
    if book.sharing:  # one exchange at a time, so reads are observed in order
        return
    due = book.take_unsaved(every)
    if due is None:
        return
    book.sharing = True
    try:
        if due:
            try:
                await asyncio.to_thread(store.add_api_calls, due)
            except Exception as problem:
                book.unsave(due)
                log.warning("could not save the API call counts (%s)", problem)
                return
            book.saved(due)
        # The hour before the window's start too: a peer may still add to it.
        since = datetime.now(UTC) - timedelta(seconds=WINDOW + 3600)
        try:
            hours = await asyncio.to_thread(store.api_call_hours, since)
        except Exception as problem:
            log.warning("could not read the API call counts (%s)", problem)
            return
        book.observe(hours)
    finally:
        book.sharing = False
