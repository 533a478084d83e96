"""The daemon while its store's disk is full: no polling, one line at each end, tries with a backoff.

A full disk fails every zap's next write alike, so it is said once, when it is first
met, and once more when the store has room again. Meanwhile no zap polls (a poll would
only find records that cannot be recorded); every so often, a little less often each
time up to :data:`MOST_WAIT`, the daemon asks the store whether it has room now.
"""

from __future__ import annotations

import asyncio
import logging
import time

from zaplite.store import Store, StoreFull

__all__ = ["FIRST_WAIT", "MOST_WAIT", "FullStoreWait"]

FIRST_WAIT = 1.0
"""Seconds before the first try after the disk was found full."""

MOST_WAIT = 60.0
"""The longest wait between two tries."""

log = logging.getLogger("zaplite.daemon")


class FullStoreWait:
    """Whether the daemon is waiting for room on its store's disk, and when it tries next."""

    def __init__(self, store: Store, first: float = FIRST_WAIT, most: float = MOST_WAIT) -> None:
        self.store = store
        self.first = first
        self.most = most
        self._since: float | None = None
        self._next_try = 0.0
        self._wait = first
        self._trying = False

    @property
    def waiting(self) -> bool:
        """Whether the store's disk was full at the last try."""
        return self._since is not None

    def failed(self, error: StoreFull) -> None:
        """A write found the disk full: said the first time; the next try waits longer."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
            self._wait = self.first
            log.warning(
                "%s Polling stops until there is room: zaplite tries again in %g s, then "
                "less often; nothing is lost.",
                error,
                self._wait,
            )
        else:
            self._wait = min(self._wait * 2, self.most)
        self._next_try = now + self._wait

    async def may_run(self) -> bool:
        """Whether a zap may run now: always while there is room; else only once a try finds room."""
        if self._since is None:
            return True
        if self._trying or time.monotonic() < self._next_try:
            return False
        self._trying = True
        try:
            await asyncio.to_thread(self.store.check_room, 0)
        except StoreFull as error:
            self.failed(error)
            return False
        finally:
            self._trying = False
        log.warning(
            "the store has room again after %.0f s; polling goes on",
            time.monotonic() - self._since,
        )
        self._since = None
        return True
