"""What this process sees of each connection, written to the store for the console.

A run that polled (or delivered) through a connection says it works; an
authentication failure or an outage that outlasted the retries is its last error; a
page's usage note (``"api-usage=18/5000"``) is the service's API usage. The store is
written when something changed (a first success, a new error, a recovery) and
otherwise at most once a minute per connection, so 1,000 idle zaps polling every
30 s do not add a write per poll.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from zaplite.store import ConnectionStatus
from zaplite.store.base import utc_now

__all__ = ["ConnectionBook"]

REFRESH_SECONDS = 60.0
"""How often an unchanged connection's news (its last success, its usage) is written again."""


@dataclass
class _Entry:
    status: ConnectionStatus
    written_at: float | None = None
    changed: bool = True


class ConnectionBook:
    """The latest news of each connection, and which of it the store still has to get."""

    def __init__(self, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.refresh_seconds = refresh_seconds
        self._entries: dict[str, _Entry] = {}

    def _entry(self, name: str) -> _Entry:
        if name not in self._entries:
            self._entries[name] = _Entry(ConnectionStatus(name, None, None, None, None, None, None))
        return self._entries[name]

    def ok(self, name: str | None) -> None:
        """A poll or a delivery through ``name`` worked just now."""
        if name is None:
            return
        entry = self._entry(name)
        recovered = entry.status.last_ok_at is None or (
            entry.status.last_error_at is not None
            and entry.status.last_error_at > entry.status.last_ok_at
        )
        entry.status = dataclasses.replace(entry.status, last_ok_at=utc_now())
        entry.changed = entry.changed or recovered

    def error(self, name: str | None, message: str) -> None:
        """Signing in or reaching the service through ``name`` failed with ``message``."""
        if name is None:
            return
        entry = self._entry(name)
        entry.changed = entry.changed or entry.status.last_error != message
        entry.status = dataclasses.replace(
            entry.status, last_error=message[:2000], last_error_at=utc_now()
        )

    def usage(self, name: str | None, used: int, limit: int) -> None:
        """The service reported ``used`` of ``limit`` API requests through ``name``."""
        if name is None:
            return
        entry = self._entry(name)
        entry.status = dataclasses.replace(
            entry.status, usage_used=used, usage_limit=limit, usage_at=utc_now()
        )
        if entry.written_at is None:
            entry.changed = True

    def due(self, now: float | None = None) -> list[ConnectionStatus]:
        """The statuses to write now (marked written): changed ones, and stale ones."""
        at = time.monotonic() if now is None else now
        out = []
        for entry in self._entries.values():
            stale = entry.written_at is None or at - entry.written_at >= self.refresh_seconds
            if entry.changed or stale:
                out.append(entry.status)
                entry.written_at, entry.changed = at, False
        return out
