"""The org's API request allocation, counted over a rolling 24 hours as Salesforce counts it.

Salesforce enforces the daily allocation against every API call made in the preceding
24 hours: once an org is over it, calls are refused (403 ``REQUEST_LIMIT_EXCEEDED``)
until the usage of the last 24 hours drops below it again. Calls are counted in
one-minute buckets, so a sandbox left running for days keeps working at a steady
polling rate instead of running out for good.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["WINDOW_SECONDS", "ApiUsage"]

WINDOW_SECONDS = 24 * 60 * 60
"""How far back calls count against the allocation."""

_BUCKET_SECONDS = 60
_BUCKETS = WINDOW_SECONDS // _BUCKET_SECONDS


class ApiUsage:
    """Calls made in the last 24 hours against an allocation of ``max``; thread-safe."""

    def __init__(self, max: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max = max
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [minute, calls], oldest first
        self._total = 0
        self._lock = threading.Lock()

    def _forget_old(self, minute: int) -> None:
        while self._buckets and self._buckets[0][0] <= minute - _BUCKETS:
            self._total -= self._buckets.popleft()[1]

    def _add(self, minute: int, calls: int) -> None:
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1][1] += calls
        else:
            self._buckets.append([minute, calls])
        self._total += calls

    @property
    def used(self) -> int:
        """Calls counted in the last 24 hours."""
        with self._lock:
            self._forget_old(int(self._clock() // _BUCKET_SECONDS))
            return self._total

    def take(self) -> bool:
        """Count one call; ``False`` (and nothing counted) when the allocation is spent."""
        with self._lock:
            minute = int(self._clock() // _BUCKET_SECONDS)
            self._forget_old(minute)
            if self._total >= self.max:
                return False
            self._add(minute, 1)
            return True

    def set(self, max: int, used: int | None = None) -> None:
        """Change the allocation; with ``used``, forget the past and count that many calls now."""
        with self._lock:
            self.max = max
            if used is not None:
                self._buckets.clear()
                self._total = 0
                if used:
                    self._add(int(self._clock() // _BUCKET_SECONDS), used)
