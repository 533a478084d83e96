"""Whether the store answers: a probe on the event loop, for ``/healthz`` and the outage lines.

Every ``interval`` seconds the probe asks the store one small question in a worker
thread. An answer marks the store reachable; an error, or no answer within
``timeout`` (a cut network hangs rather than fails), marks it unreachable with the
reason. A probe still waiting is not doubled: the next one waits for it. So the
state turns within ``interval + timeout`` seconds of an outage (5 s by default) and
back within ``interval`` of the store's return.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from zaplite.engine.outage import StoreOutage

__all__ = ["StoreHealth", "StoreProbe"]

log = logging.getLogger("zaplite.health")


@dataclass(frozen=True)
class StoreHealth:
    """The store's state as last probed: reachable or not, why not, and since when."""

    ok: bool
    reason: str | None
    since: float
    """``time.time()`` of the change to this state."""
    checked: float | None
    """``time.time()`` of the last probe that finished (``None`` before the first)."""


class StoreProbe:
    """Probes ``ping`` (a store's :meth:`~zaplite.store.Store.ping`) until :meth:`run` is cancelled."""

    def __init__(
        self,
        ping: Callable[[], None],
        *,
        interval: float = 2.0,
        timeout: float = 3.0,
        describe: str = "the store",
        outage: StoreOutage | None = None,
    ) -> None:
        self._ping = ping
        self.outage = outage
        """The engine's outage, told of each change instead of logging it here (one set of lines)."""
        self.interval = interval
        self.timeout = timeout
        self.describe = describe
        self.state = StoreHealth(ok=True, reason=None, since=time.time(), checked=None)
        self._pending: asyncio.Future[None] | None = None

    async def check(self) -> StoreHealth:
        """Probe once (or wait once more for a probe still running) and return the state."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._ping))
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
        except TimeoutError:
            self._set(False, f"{self.describe} did not answer within {self.timeout:g} s")
        except Exception as error:
            self._pending = None
            self._set(False, f"{self.describe} is unreachable: {_short(error)}")
        else:
            self._pending = None
            self._set(True, None)
        return self.state

    def _set(self, ok: bool, reason: str | None) -> None:
        now = time.time()
        changed = ok != self.state.ok
        since = now if changed else self.state.since
        self.state = StoreHealth(ok=ok, reason=reason, since=since, checked=now)
        if self.outage is not None:
            if changed and not ok:
                self.outage.failed(reason)
            elif changed:
                self.outage.answered()
        elif changed and not ok:
            log.warning("%s", reason)
        elif changed:
            log.warning("%s answers again", self.describe)

    async def run(self) -> None:
        """Probe every :attr:`interval` seconds, forever (cancel the task to stop)."""
        try:
            while True:
                await self.check()
                await asyncio.sleep(self.interval)
        finally:
            if self._pending is not None and not self._pending.done():
                self._pending.cancel()  # a hung read's thread ends with its connection


def _short(error: BaseException) -> str:
    """The first line of an error, without SQLAlchemy's background link."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first[:300]
