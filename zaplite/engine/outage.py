"""A store outage, said once: one line when the store stops answering, one when it answers again.

A PostgreSQL restart or a cut network makes every store call of every zap fail for a
while. The engine, the lease renewal and the ``/healthz`` probe each notice it; they
all report to one :class:`StoreOutage`, which logs the first failure and the first
success after it, and nothing in between. Nothing is lost meanwhile: a page whose
commit failed is polled again once the store answers.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["StoreOutage"]

log = logging.getLogger("zaplite.store")


class StoreOutage:
    """Whether the store is out of reach now, and since when; logs each change once."""

    def __init__(self, describe: str = "the store") -> None:
        self.describe = describe
        self._lock = threading.Lock()
        self._since: float | None = None
        self.reason: str | None = None
        """Why the store is out of reach (``None`` while it answers)."""

    @property
    def down(self) -> bool:
        """Whether the store is out of reach now (as last seen)."""
        return self._since is not None

    def failed(self, reason: object) -> None:
        """A store call failed because the store is out of reach: logged if it answered until now."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
            self.reason = str(reason)
        log.warning(
            "%s; zaps wait and poll again once %s answers (nothing is lost)",
            self.reason,
            self.describe,
        )

    def answered(self) -> None:
        """A store call worked: logged if the store was out of reach until now."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self._since, self.reason = self._since, None, None
        if since is not None:
            log.warning(
                "%s answers again after %.1f s; zaps go on", self.describe, time.monotonic() - since
            )
