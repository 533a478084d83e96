"""Letting work done ahead run only while the page being delivered waits for its answers.

The engine prepares page N+1 (filters, params, upload records) while page N is being
sent. Both run on one event loop, so a slice of that preparation that runs when page
N's answers have arrived delays page N's outcomes and its commit: the critical path.
An :class:`AheadGate` is open only while the delivery waits for its actions' answers
or for the next page; the preparation waits for it before each slice.

It stays shut while a page is recorded: the store's thread needs the GIL for the
Python part of the commit, and Python running on the loop then slows it
(``bench/page_timeline.py`` shows each page's stages; BENCHMARKS.md has the numbers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["AheadGate", "OpenGate"]


class AheadGate:
    """Open while the page being delivered waits for answers or for the next page.

    Work done ahead waits for it; it is shut while the page is recorded.
    """

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._waits = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Hold the gate open around an ``await`` of the delivery (calls may nest)."""
        self._waits += 1
        self._open.set()
        try:
            yield
        finally:
            self._waits -= 1
            if self._waits == 0:
                self._open.clear()

    async def opened(self) -> None:
        """Return once the delivery is waiting, after one turn of the loop.

        The turn lets the requests the delivery has just started go out first.
        """
        if not self._open.is_set():
            await self._open.wait()
        await asyncio.sleep(0)


class OpenGate(AheadGate):
    """A gate that is always open: for deliveries with nothing prepared ahead of them."""

    def __init__(self) -> None:
        super().__init__()
        self._open.set()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Nothing to hold: the gate never closes."""
        yield
