"""The daemon: every enabled zap polled on its schedule with APScheduler, until SIGINT/SIGTERM.

A zap never runs twice at once (``max_instances=1`` here, a lease in the store
across daemons). On a signal the daemon stops scheduling, lets each run finish the
page in flight (a page is recorded whole or not at all), closes its connections and
returns.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from zaplite.binding import BoundZap
from zaplite.engine import Engine, RunResult

__all__ = ["Daemon", "schedule_trigger"]

log = logging.getLogger("zaplite.daemon")


def schedule_trigger(zap: BoundZap) -> BaseTrigger:
    """The APScheduler trigger for a zap's ``schedule`` (``every`` or ``cron``), in UTC."""
    schedule = zap.zap.schedule
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    assert schedule.every is not None
    return IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=UTC)


class Daemon:
    """Schedules the given zaps on an engine and runs until :meth:`stop` (or a signal)."""

    def __init__(
        self,
        engine: Engine,
        zaps: dict[str, BoundZap],
        *,
        on_result: Callable[[RunResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.zaps = {zap_id: zap for zap_id, zap in zaps.items() if zap.zap.enabled}
        self.on_result = on_result
        self._stopped = asyncio.Event()
        self._running: set[asyncio.Task[RunResult]] = set()
        self.scheduler: AsyncIOScheduler | None = None

    def stop(self) -> None:
        """Ask the daemon to stop: no new runs; runs in flight finish their page."""
        self.engine.stopping.set()
        self._stopped.set()

    async def _run(self, zap_id: str) -> None:
        zap = self.zaps.get(zap_id)
        if zap is None or self._stopped.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)  # type: ignore[arg-type]
        try:
            result = await self.engine.run_zap(zap)
        except Exception:  # one zap's failure never stops another
            log.exception("zap %s: unexpected error", zap_id)
            return
        finally:
            if task is not None:
                self._running.discard(task)  # type: ignore[arg-type]
        if self.on_result is not None and result.status != "skipped":
            self.on_result(result)

    def _install_signals(self) -> list[int]:
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.stop)
                installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return installed

    async def run(self, *, install_signals: bool = True) -> None:
        """Schedule every enabled zap (first run right away) and wait until stopped."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for zap_id, zap in self.zaps.items():
            scheduler.add_job(
                self._run,
                trigger=schedule_trigger(zap),
                args=[zap_id],
                id=zap_id,
                name=zap.zap.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=now,
            )
        signals = self._install_signals() if install_signals else []
        self.scheduler = scheduler
        scheduler.start()
        try:
            await self._stopped.wait()
        finally:
            scheduler.shutdown(wait=False)
            if self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
            await self.engine.connections.close()
            loop = asyncio.get_running_loop()
            for signum in signals:
                loop.remove_signal_handler(signum)
