"""Scripted faults for upload requests: a FIFO queue of failures and dropped connections."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Fault", "FaultQueue"]

FaultKind = Literal["fail", "drop", "drop_after"]


@dataclass(frozen=True)
class Fault:
    """What happens to one upload request.

    ``fail``: answer ``status`` with ``body`` (a JSON value, or ``str`` sent as text; ``None``
    gives the CleverTap-like default) and an optional ``Retry-After``. ``drop``: close the
    connection without answering, records not processed. ``drop_after``: process the records,
    then close the connection without answering (the client cannot know they were stored).
    """

    kind: FaultKind
    status: int = 503
    body: Any = None
    retry_after: float | str | None = None


class FaultQueue:
    """Faults for the next upload requests, taken one per request in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def add(self, fault: Fault, n: int) -> None:
        """Apply ``fault`` to the next ``n`` upload requests (after those already queued)."""
        if n < 0:
            raise ValueError("the number of requests to fault must not be negative")
        with self._lock:
            self._queue.extend([fault] * n)

    def take(self) -> Fault | None:
        """The fault for the request being handled now, if one is queued."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The queued faults, oldest first, as plain dicts (for the admin API)."""
        with self._lock:
            return [
                {
                    "kind": f.kind,
                    "status": f.status,
                    "body": f.body,
                    "retry_after": f.retry_after,
                }
                for f in self._queue
            ]
