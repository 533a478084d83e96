"""When a zap's polls fall: on a fixed grid per interval and connection, never twice in one interval.

An ``every`` schedule ticks on a grid of its interval, anchored on the Unix epoch plus an
offset drawn from the zap's connection name. So every zap of one connection with the
same interval ticks at the same instants (their idle polls can share one request: the
Salesforce app sends them as one Composite call), zaps of different connections are
spread over the interval, and daemons sharing a store tick at the same instants, so
which of them runs a zap is decided by its lease, not by whose clock is ahead.

A tick is never sooner than one interval after the one before it: the first run of a
daemon is at start-up, and the next one is the first grid instant at least an interval
later. The grid can be stretched (``pace`` above 1) to poll evenly less often, for
example to stay inside a service's API allowance. Cron schedules keep their times.
"""

from __future__ import annotations

import math
import zlib
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from zaplite.project.binding import BoundZap

__all__ = ["GridTrigger", "grid_offset", "schedule_trigger"]


def grid_offset(key: str, interval: float) -> float:
    """Seconds past the epoch's grid at which zaps keyed ``key`` tick (the same on every machine)."""
    return (zlib.crc32(key.encode()) / 2**32) * interval


class GridTrigger(BaseTrigger):
    """Fires every ``interval * pace`` seconds on a grid anchored at the epoch plus ``offset``.

    The next fire time is the first grid instant that is at least one (stretched)
    interval after the previous fire time, so no two fires are closer than that.
    """

    __slots__ = ("interval", "offset", "pace")

    def __init__(self, interval: float, offset: float = 0.0, pace: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("a grid's interval must be positive")
        self.interval = float(interval)
        self.offset = float(offset) % self.interval
        self.pace = max(1.0, float(pace))

    @property
    def period(self) -> float:
        """Seconds between two fires: the interval stretched by the pace."""
        return self.interval * self.pace

    def next_after(self, earliest: float) -> float:
        """The first grid instant (epoch seconds) at or after ``earliest``."""
        period = self.period
        exact = (earliest - self.offset) / period
        nearest = round(exact)
        # Epoch seconds carry ~1e-7 s of float error: an instant that is on the grid
        # must not be pushed to the next one by it.
        steps = nearest if abs(exact - nearest) < 1e-4 else math.ceil(exact)
        return self.offset + steps * period

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first grid instant at or after ``now`` (first fire), or a period after the previous."""
        if previous_fire_time is None:
            earliest = now.timestamp()
        else:
            earliest = previous_fire_time.timestamp() + self.period
        return datetime.fromtimestamp(self.next_after(earliest), tz=UTC)

    def __str__(self) -> str:
        return f"grid[every {timedelta(seconds=self.period)}, +{self.offset:.3f}s]"

    def __repr__(self) -> str:
        return f"<GridTrigger (interval={self.interval}, offset={self.offset}, pace={self.pace})>"


def schedule_trigger(zap: BoundZap, pace: float = 1.0) -> BaseTrigger:
    """The APScheduler trigger of a zap's ``schedule``: a :class:`GridTrigger`, or cron in UTC."""
    schedule = zap.zap.schedule
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    assert schedule.every is not None
    seconds = schedule.every.total_seconds()
    return GridTrigger(seconds, grid_offset(zap.connection or "", seconds), pace)
