"""The daemon: every enabled zap polled on its schedule with APScheduler, until SIGINT/SIGTERM.

A zap polls at most once per interval, on a grid shared by the zaps of its connection
(see :mod:`zaplite.engine.schedules`). It never runs twice at once (``max_instances=1``
here, a lease in the store across daemons; the daemon keeps a zap's lease between its
idle runs). On a signal the daemon stops scheduling, lets each run finish the page in
flight (a page is recorded whole or not at all), closes its connections and returns.

A connection whose app reports its API use (``App.api_use``) is paced: when its
projected day of calls is over its budget, the grid of its zaps is stretched evenly
(``zaplite.engine.budget``), and restored when the calls allow it again.

Daemons sharing a store tick at the same instants. A zap whose lease is free goes to
the daemon that holds the fewest leases: once a daemon has met another one (it found
a zap's lease held elsewhere), it waits before taking a free lease a little longer the
more leases it holds, and a step longer for a zap it gave up itself after its last
run. So busy zaps, whose lease is given up after every run that delivered something,
pass between the daemons instead of staying with whichever is quickest.

With a ``reload`` function and a folder to watch, zap files changed while the daemon
runs are picked up without a restart (watchfiles); a broken edit is reported and the
last good version of that zap keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import watchfiles
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from zaplite.engine.budget import Pace
from zaplite.engine.fullstore import FullStoreWait
from zaplite.engine.run import Engine, RunResult
from zaplite.engine.schedules import GridTrigger, schedule_trigger
from zaplite.errors import FileError
from zaplite.project.binding import BoundZap
from zaplite.store import StoreFull, StoreUnavailable, StoreUnusable

__all__ = ["COURTESY_BASE", "COURTESY_STEP", "Daemon", "Reload", "schedule_trigger"]

COURTESY_BASE = 0.05
"""Seconds a daemon that has met another one waits before it takes a free lease."""

COURTESY_STEP = 0.02
"""Seconds more per lease it holds, and once more for a zap it gave up itself."""

PARK_MARGIN = 0.25
"""Seconds before a zap's next tick at which a lease given up after a run is free again."""

COURTESY_MAX = 2.0
"""The longest courtesy wait (also never more than a quarter of the zap's interval)."""

RIVALS_FORGOTTEN = 600.0
"""Seconds after which a daemon that has not met another one takes free leases at once."""

ZapLoader = Callable[[], tuple[dict[str, BoundZap], list[FileError]]]


@dataclass
class Reload:
    """What a reload of the zap files changed, and the files that could not be used."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[FileError] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per change and per problem, for the daemon's output."""
        out = []
        for word, ids in (
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
        ):
            if ids:
                out.append(f"zap files reloaded: {word} {', '.join(sorted(ids))}")
        for problem in self.problems:
            out.append(f"broken zap file: {problem}")
        for zap_id in self.kept:
            out.append(f"{zap_id}: keeping the last good version running")
        return out


log = logging.getLogger("zaplite.daemon")


class Daemon:
    """Schedules the given zaps on an engine and runs until :meth:`stop` (or a signal)."""

    def __init__(
        self,
        engine: Engine,
        zaps: dict[str, BoundZap],
        *,
        on_result: Callable[[RunResult], None] | None = None,
        reload: ZapLoader | None = None,
        watch: Path | None = None,
        on_reload: Callable[[Reload], None] | None = None,
        on_pace: Callable[[Pace], None] | None = None,
    ) -> None:
        self.engine = engine
        self.zaps = {zap_id: zap for zap_id, zap in zaps.items() if zap.zap.enabled}
        self.on_result = on_result
        self.reload = reload
        self.watch = watch
        self.on_reload = on_reload
        self.on_pace = on_pace
        self._stopped = asyncio.Event()
        self._running: set[asyncio.Task[RunResult]] = set()
        self._last_status: dict[str, str] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self.fatal: StoreUnusable | None = None
        self.full = FullStoreWait(engine.store)
        """Whether the store's disk is full: then no zap polls until it has room again."""
        self._rival_seen: float | None = None
        """When this daemon last found a zap's lease held by another daemon (monotonic)."""
        self._gave_up: set[str] = set()
        """Zaps whose last run here gave their lease up (it delivered something)."""
        self._in_flight: set[str] = set()
        self._again: set[str] = set()
        """Zaps woken while their run was in flight: they run again as soon as it ends."""

    @property
    def alive(self) -> bool:
        """Whether the scheduler is running and the daemon has not been asked to stop."""
        return self.scheduler is not None and self.scheduler.running and not self._stopped.is_set()

    @property
    def in_flight(self) -> frozenset[str]:
        """The zaps with a run in progress here (taking its lease, or running)."""
        return frozenset(self._in_flight)

    def next_run_at(self, zap_id: str) -> datetime | None:
        """When this daemon next runs the zap (``None``: it does not schedule it)."""
        job = self.scheduler.get_job(zap_id) if self.scheduler is not None else None
        return job.next_run_time if job is not None else None

    def run_now(self, zap_id: str) -> bool:
        """Move the zap's next tick to now; ``False`` if this daemon does not schedule it.

        The run is an ordinary tick: it takes the zap's lease (so it is skipped while
        another daemon runs the zap) and never overlaps a run in flight.
        """
        job = self.scheduler.get_job(zap_id) if self.scheduler is not None else None
        if job is None or self._stopped.is_set():
            return False
        job.modify(next_run_time=datetime.now(UTC))
        return True

    def wake(self, zap_id: str) -> bool:
        """Run the zap now (an instant trigger received records); ``False`` if not scheduled here.

        A zap woken while its run is in flight runs again right after it, so records
        that arrive together are delivered together, by one or two runs, never waiting
        for the next tick.
        """
        if zap_id in self._in_flight:
            self._again.add(zap_id)
            return zap_id in self.zaps
        return self.run_now(zap_id)

    def stop(self) -> None:
        """Ask the daemon to stop: no new runs; runs in flight finish their page."""
        self.engine.stopping.set()
        self._stopped.set()

    async def _run(self, zap_id: str) -> None:
        """One tick of the zap, run again at once for as long as it was woken meanwhile.

        The run again happens inside this job, not as a new tick: a tick asked for while
        this job is still APScheduler's running instance would be skipped (``max_instances``)
        and the records that woke the zap would wait for the next tick, an hour on an
        instant zap's usual schedule. Nothing awaits between the last look at ``_again`` and
        leaving ``_in_flight``, so a wake lands either here or in a tick of its own.
        """
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)  # type: ignore[arg-type]
        self._in_flight.add(zap_id)
        try:
            while True:
                self._again.discard(zap_id)
                await self._tick(zap_id)
                if zap_id not in self._again or self._stopped.is_set():
                    return
        finally:
            if task is not None:
                self._running.discard(task)  # type: ignore[arg-type]
            self._in_flight.discard(zap_id)
            self._again.discard(zap_id)

    async def _tick(self, zap_id: str) -> None:
        """Run the zap once, unless it is gone, the daemon stops or the store has no room."""
        zap = self.zaps.get(zap_id)
        if zap is None or self._stopped.is_set():
            return
        try:
            if not await self.full.may_run():
                return
            courtesy = self.courtesy(zap_id)
            if courtesy > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), courtesy)
                if self._stopped.is_set():
                    return
            result = await self.engine.run_zap(zap)
            pace = await self.engine.note_api_use(zap)
            if pace is not None:
                self.repace(pace)
        except StoreUnusable as error:  # damaged or read-only: every zap would fail, so stop
            self.fatal = self.fatal or error
            self.stop()
            return
        except StoreFull as error:  # no room on the store's disk: wait for it, said once
            self.full.failed(error)
            return
        except StoreUnavailable as error:  # the server is out of reach: said once, tried again
            self.engine.outage.failed(error)
            return
        except Exception:  # one zap's failure never stops another
            log.exception("zap %s: unexpected error", zap_id)
            return
        self._note_lease(zap_id, result)
        repeated_pause = result.status == "paused" and self._last_status.get(zap_id) == "paused"
        self._last_status[zap_id] = result.status
        if self.on_result is not None and result.status != "skipped" and not repeated_pause:
            self.on_result(result)  # a paused zap is reported once, not at every tick

    def repace(self, pace: Pace) -> None:
        """Stretch (or restore) the grid of every ``every`` zap of the paced connection."""
        log.warning("%s", pace.line()) if pace.slowed else log.info("%s", pace.line())
        if self.on_pace is not None:
            self.on_pace(pace)
        if self.scheduler is None:
            return
        for zap_id, zap in self.zaps.items():
            job = self.scheduler.get_job(zap_id)
            if zap.connection == pace.connection and job is not None and zap.zap.schedule.every:
                job.modify(trigger=schedule_trigger(zap, pace.factor))

    def courtesy(self, zap_id: str) -> float:
        """Seconds to wait before this daemon tries to take the zap's free lease (0: at once).

        Nothing while this daemon holds the lease or runs without leases. A daemon that
        has met another one (within :data:`RIVALS_FORGOTTEN` seconds) waits
        :data:`COURTESY_BASE` plus :data:`COURTESY_STEP` per lease it holds, and one
        step more if it gave the zap up after its last run: the daemon holding the
        fewest leases tries first and gets it. One that has met no other daemon waits
        only for a zap it gave up itself, one step past the base, so that a daemon it
        has not met (one holding no lease yet) can take that zap first.
        """
        leases = self.engine.leases
        if self.engine.owner is None or leases.holds(zap_id):
            return 0.0
        gave_up = zap_id in self._gave_up
        if self._rival_seen is not None and time.monotonic() - self._rival_seen < RIVALS_FORGOTTEN:
            wait = COURTESY_BASE + COURTESY_STEP * (len(leases.kept) + gave_up)
        elif gave_up:
            wait = COURTESY_BASE + COURTESY_STEP
        else:
            return 0.0
        job = self.scheduler.get_job(zap_id) if self.scheduler is not None else None
        if job is not None and isinstance(job.trigger, GridTrigger):
            return min(wait, COURTESY_MAX, job.trigger.period / 4)
        return min(wait, COURTESY_MAX)

    def parking(self, zap_id: str) -> float:
        """Seconds to hold a lease given up after a run: until just before the zap's next tick.

        Daemons sharing a store then cannot run the zap twice in one interval: the lease
        is free again only when every daemon ticks.
        """
        job = self.scheduler.get_job(zap_id) if self.scheduler is not None else None
        if job is None or job.next_run_time is None:
            return 0.0
        left = (job.next_run_time - datetime.now(UTC)).total_seconds()
        margin = PARK_MARGIN
        if isinstance(job.trigger, GridTrigger):
            margin = min(margin, job.trigger.period / 10)
        return left - margin

    def _note_lease(self, zap_id: str, result: RunResult) -> None:
        """Remember whether another daemon holds leases, and whether this run gave its lease up."""
        if result.held_elsewhere:
            self._rival_seen = time.monotonic()
        if result.status == "skipped" or zap_id in self.engine.leases.kept:
            self._gave_up.discard(zap_id)
        else:
            self._gave_up.add(zap_id)

    def _add_job(self, zap_id: str, zap: BoundZap) -> None:
        assert self.scheduler is not None
        every = zap.zap.schedule.every
        self.engine.metrics.scheduled(zap_id, every.total_seconds() if every else None)
        self.scheduler.add_job(
            self._run,
            trigger=schedule_trigger(zap, self.engine.budgets.factor(zap.connection)),
            args=[zap_id],
            id=zap_id,
            name=zap.zap.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    def apply_reload(self) -> Reload:
        """Read the zap files again and reschedule what changed; broken files keep their last good zap."""
        assert self.reload is not None
        return self.apply_loaded(*self.reload())

    def apply_loaded(self, loaded: dict[str, BoundZap], problems: list[FileError]) -> Reload:
        """Reschedule what changed in ``loaded`` (the zap files read again) on the running daemon."""
        report = Reload(problems=list(problems))
        broken = {Path(p.file).resolve() for p in problems if p.file}
        fresh = {zap_id: zap for zap_id, zap in loaded.items() if zap.zap.enabled}
        for zap_id, old in self.zaps.items():
            source = old.zap.source.resolve() if old.zap.source else None
            if zap_id not in loaded and source in broken:
                fresh[zap_id] = old
                report.kept.append(zap_id)
        for zap_id in list(self.zaps):
            if zap_id not in fresh:
                report.removed.append(zap_id)
                self.zaps.pop(zap_id)
                self.engine.metrics.scheduled(zap_id, None)
                if self.scheduler is not None and self.scheduler.get_job(zap_id):
                    self.scheduler.remove_job(zap_id)
        for zap_id, zap in fresh.items():
            old = self.zaps.get(zap_id)
            if old is zap:
                continue
            if old is None:
                report.added.append(zap_id)
            elif old.zap.model_dump() != zap.zap.model_dump():
                report.changed.append(zap_id)
            else:
                continue
            self.zaps[zap_id] = zap
            if self.scheduler is not None:
                self._add_job(zap_id, zap)
        return report

    async def _watch_files(self) -> None:
        assert self.watch is not None
        async for _changes in watchfiles.awatch(
            self.watch, stop_event=self._stopped, debounce=200, step=50, recursive=False
        ):
            try:
                # Read and bind the files off the event loop: a slow or hostile file (a
                # FIFO, a huge zap) must never stall the zaps that are running.
                assert self.reload is not None
                loaded = await asyncio.to_thread(self.reload)
                if self._stopped.is_set():
                    break
                report = self.apply_loaded(*loaded)
            except Exception:  # a reload must never stop the daemon
                log.exception("reloading the zap files failed; the running zaps are unchanged")
                continue
            if report.removed:  # another daemon may run them at once
                try:
                    await self.engine.leases.release(report.removed)
                except Exception as error:  # they expire on their own
                    log.warning("could not release the leases of removed zaps (%s)", error)
            if self.on_reload is not None:
                self.on_reload(report)

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
        """Schedule every enabled zap (first run right away) and wait until stopped.

        Raises :class:`~zaplite.store.StoreUnusable` after stopping if the store became
        damaged or read-only while the daemon ran.
        """
        scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler = scheduler
        self.engine.leases.parking = self.parking
        for zap_id, zap in self.zaps.items():
            self._add_job(zap_id, zap)
        signals = self._install_signals() if install_signals else []
        # Each zap's lease stays with this daemon between its idle runs, renewed in one
        # batch, and is released when the daemon stops.
        async with self.engine.leases.keeping():
            scheduler.start()
            watcher = (
                asyncio.create_task(self._watch_files())
                if self.reload is not None and self.watch is not None
                else None
            )
            try:
                await self._stopped.wait()
            finally:
                # No new runs; let the runs in flight finish their page *before* the
                # scheduler shuts down, because shutting down cancels the jobs it still runs.
                scheduler.pause()
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                if self._running:
                    await asyncio.gather(*list(self._running), return_exceptions=True)
                scheduler.shutdown(wait=False)
                await self.engine.connections.close()
                loop = asyncio.get_running_loop()
                for signum in signals:
                    loop.remove_signal_handler(signum)
        if self.fatal is not None:
            raise self.fatal
