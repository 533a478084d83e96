"""A daemon keeps each zap's lease between idle runs: renewed in one batch, released on stop.

Two daemons here are two :class:`~zaplite.engine.daemon.Daemon` objects on one event loop,
each with its own engine (owner) and its own :class:`~zaplite.store.Store` on the
project's SQLite file, as two ``zaplite run`` processes would be.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.support import memory_plugin
from tests.support.memory_plugin import memory_zap
from tests.support.processes import dead_pid
from zaplite.engine.daemon import Daemon
from zaplite.engine.leases import owner_for
from zaplite.engine.run import Engine, RunResult
from zaplite.engine.schedules import grid_offset
from zaplite.project.connections import Connections
from zaplite.store import Store
from zaplite.testing import ZapliteProject

EVERY = {"every": "0.2s"}


class Calls:
    """Counts the calls of some of a store's methods (wrapping them on the instance)."""

    def __init__(self, store: Store, *names: str) -> None:
        self.counts: Counter[str] = Counter()
        self.threads: set[str] = set()
        self.args: dict[str, list[tuple[Any, ...]]] = {name: [] for name in names}
        for name in names:
            setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            self.args[name].append(args)
            self.threads.add(threading.current_thread().name)
            return method(*args, **kwargs)

        return counted

    def by(self, name: str, owner: str) -> int:
        """How many calls of ``name`` were made for ``owner`` (a lease method's second argument)."""
        return sum(1 for args in self.args[name] if args[1] == owner)


async def wait_for(predicate: Callable[[], bool], seconds: float = 15.0) -> None:
    """Wait until ``predicate()`` holds; fail the test after ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the condition")


async def holder(store: Store, zap_id: str) -> str | None:
    """Who holds the zap's lease, read in a thread like the engine does."""
    return await asyncio.to_thread(store.lease_holder, zap_id)


def ran(results: list[RunResult], zap_id: str) -> int:
    """How many runs of ``zap_id`` the daemon reported."""
    return sum(1 for result in results if result.zap_id == zap_id)


def test_a_daemon_keeps_its_lease_between_idle_runs_and_releases_it_on_stop(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule=EVERY))
    workspace = project.workspace
    store = workspace.store
    calls = Calls(store, "acquire_lease", "release_lease", "release_leases")
    starts = Calls(store, "run_start")
    engine = Engine.for_workspace(workspace, owner="daemon-a")
    daemon = Daemon(engine, workspace.zaps)

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: service.polls >= 2)
        for _ in range(5):  # between runs and during them, the lease stays with daemon-a
            assert await holder(store, "z") == "daemon-a"
            assert not await asyncio.to_thread(store.acquire_lease, "z", "daemon-b", 60)
            await asyncio.sleep(0.1)
        assert engine.leases.kept == {"z"}
        polls = service.polls
        await wait_for(lambda: service.polls >= polls + 3)
        assert calls.by("acquire_lease", "daemon-a") == 1, "taken once for all these idle runs"
        assert calls.by("release_lease", "daemon-a") == 0
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert calls.args["release_leases"] == [("daemon-a", ["z"])], "released in one batch"
    assert starts.counts["run_start"] >= 4, "a run holding its lease reads the store once"
    main = threading.main_thread().name
    assert starts.threads == {main}, "a local SQLite read is made on the event loop"
    assert store.lease_holder("z") is None
    assert store.acquire_lease("z", "daemon-b", 60), "another daemon may take it at once"


def test_a_run_that_delivers_gives_the_lease_up_and_the_next_takes_it_again(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    """Busy zaps are shared between daemons: only idle runs keep the lease.

    A delivering run holds the lease on only until just before the zap's next tick, so
    that no daemon runs the zap again in the same interval.
    """
    # A 1 s grid, not 0.2 s: a run that ends within a tenth of an interval of the next
    # tick (20 ms of 0.2 s: a slow commit on a busy machine) lets the lease go at once
    # instead of holding it on.
    project.add_zap(memory_zap(schedule={"every": "1s"}))
    workspace = project.workspace
    store = workspace.store
    calls = Calls(store, "acquire_lease", "release_lease", "renew_lease")
    engine = Engine.for_workspace(workspace, owner="daemon-a")
    results: list[RunResult] = []
    daemon = Daemon(engine, workspace.zaps, on_result=results.append)

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: service.polls >= 2)
        service.add(name="news")
        await wait_for(lambda: any(result.delivered for result in results))
        await wait_for(lambda: calls.by("renew_lease", "daemon-a") == 1)
        parked_for = calls.args["renew_lease"][0][2]
        assert 0 < parked_for < 1.0, "held on only until the next tick"
        assert engine.leases.kept == frozenset(), "the delivering run gave the lease up"
        polls = service.polls
        await wait_for(lambda: service.polls >= polls + 2)
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert [item["to"] for item in service.received] == ["news"]
    assert calls.by("acquire_lease", "daemon-a") == 2, "taken again by the run after, then kept"
    assert calls.by("release_lease", "daemon-a") == 0
    assert store.lease_holder("z") is None, "released when the daemon stopped"


def test_leases_are_renewed_in_one_batch_and_a_lost_one_stops_the_zap_here(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    for zap_id in ("a", "b"):
        project.add_zap(memory_zap(zap_id, schedule=EVERY))
    workspace = project.workspace
    store = workspace.store
    calls = Calls(store, "renew_leases", "renew_lease")
    engine = Engine.for_workspace(workspace, owner="daemon-a")
    engine.leases.lease_seconds = 1.2  # renewed every 0.4 s
    results: list[RunResult] = []
    daemon = Daemon(engine, workspace.zaps, on_result=results.append)
    other = Store(store.url_for_display)  # another daemon's view of the same database

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: engine.leases.kept == {"a", "b"})
        await asyncio.sleep(2.0)  # over 1.5 lease lengths: only the renewal keeps them
        for zap_id in ("a", "b"):
            assert await holder(other, zap_id) == "daemon-a"
            assert not await asyncio.to_thread(other.acquire_lease, zap_id, "daemon-b", 60)
        batches = [set(args[1]) for args in calls.args["renew_leases"]]
        assert batches and all(batch <= {"a", "b"} for batch in batches)
        assert {"a", "b"} in batches, "both leases renewed by one statement"
        # As if daemon-a's lease on "a" had expired and daemon-b had taken it:
        await asyncio.to_thread(other.release_lease, "a", "daemon-a")
        assert await asyncio.to_thread(other.acquire_lease, "a", "daemon-b", 60)
        await wait_for(lambda: "a" not in engine.leases.kept)
        # A run of "a" begun before the loss ends after its page (however slowly); the
        # runs begun after it are skipped, and are not in flight for longer than a tick.
        await wait_for(lambda: "a" not in daemon.in_flight)
        runs_of_a, runs_of_b = ran(results, "a"), ran(results, "b")
        await wait_for(lambda: ran(results, "b") >= runs_of_b + 3)  # "a" ticked as often
        assert ran(results, "a") == runs_of_a, "daemon-a no longer runs a zap it lost"
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    try:
        asyncio.run(scenario())
        assert other.lease_holder("a") == "daemon-b", "stopping gives up only its own leases"
        assert other.lease_holder("b") is None
    finally:
        other.close()
    assert calls.counts["renew_lease"] == 0, "no heartbeat per run in a daemon"


def test_a_second_daemon_runs_nothing_until_the_first_stops(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    for zap_id in ("a", "b"):
        project.add_zap(memory_zap(zap_id, schedule=EVERY))
    workspace = project.workspace
    first_results: list[RunResult] = []
    second_results: list[RunResult] = []
    first = Daemon(
        Engine.for_workspace(workspace, owner="daemon-a"),
        workspace.zaps,
        on_result=first_results.append,
    )
    second_store = Store(workspace.store.url_for_display)
    connections = Connections(workspace.config, workspace.registry)
    second_engine = Engine(second_store, connections, owner="daemon-b")
    second = Daemon(second_engine, workspace.zaps, on_result=second_results.append)

    async def scenario() -> None:
        first_runner = asyncio.create_task(first.run(install_signals=False))
        await wait_for(lambda: first.engine.leases.kept == {"a", "b"})
        second_runner = asyncio.create_task(second.run(install_signals=False))
        a, b = ran(first_results, "a"), ran(first_results, "b")
        # Three more ticks of each zap on the first daemon: as many on the second.
        await wait_for(
            lambda: ran(first_results, "a") >= a + 3 and ran(first_results, "b") >= b + 3
        )
        assert second_results == [], "the zaps stay with the daemon that holds them"
        first.stop()
        await asyncio.wait_for(first_runner, 10)
        stopped_at = len(first_results)
        await wait_for(lambda: {r.zap_id for r in second_results} == {"a", "b"})
        assert second_engine.leases.kept == {"a", "b"}
        assert len(first_results) == stopped_at
        second.stop()
        await asyncio.wait_for(second_runner, 10)

    try:
        asyncio.run(scenario())
        assert second_store.lease_holder("a") is None and second_store.lease_holder("b") is None
    finally:
        second_store.close()
    assert all(r.status == "ok" for r in first_results + second_results)


def test_a_daemon_takes_over_the_lease_of_a_crashed_one_and_keeps_it(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule=EVERY))
    project.add_zap(memory_zap("other", schedule=EVERY))
    workspace = project.workspace
    store = workspace.store
    crashed = owner_for(dead_pid(), "crashed")
    alive = owner_for(os.getppid(), "alive")
    assert store.acquire_lease("z", crashed, 3600)
    assert store.acquire_lease("other", alive, 3600)
    engine = Engine.for_workspace(workspace, owner="restarted")
    results: list[RunResult] = []
    daemon = Daemon(engine, workspace.zaps, on_result=results.append)

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: ran(results, "z") >= 3)
        assert await holder(store, "z") == "restarted"
        assert engine.leases.kept == {"z"}
        assert await holder(store, "other") == alive, "a live holder keeps its lease"
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert ran(results, "other") == 0
    assert store.lease_holder("z") is None
    assert store.lease_holder("other") == alive


def test_a_zap_removed_while_the_daemon_runs_gives_its_lease_up(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule=EVERY))
    removed = project.add_zap(memory_zap("gone", schedule=EVERY))
    workspace = project.workspace
    engine = Engine.for_workspace(workspace, owner="daemon-a")
    daemon = Daemon(
        engine,
        workspace.zaps,
        reload=workspace.reload_zaps,
        watch=workspace.config.settings.zaps_dir,
    )
    store = workspace.store

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: engine.leases.kept == {"z", "gone"})
        removed.unlink()
        await wait_for(lambda: engine.leases.kept == {"z"})
        # The release is written in a thread after the zap is forgotten here.
        for _ in range(750):
            if await holder(store, "gone") is None:
                break
            await asyncio.sleep(0.02)
        assert await holder(store, "gone") is None, "another daemon may run it at once"
        assert await holder(store, "z") == "daemon-a"
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert store.lease_holder("z") is None


def test_a_run_outside_a_daemon_still_releases_its_lease(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    """`zaplite run --once`: each run takes the lease and gives it back, idle or not."""
    project.add_zap(memory_zap(schedule=EVERY))
    workspace = project.workspace
    store = workspace.store
    engine = Engine.for_workspace(workspace, owner="once")

    async def twice() -> list[RunResult]:
        try:
            return [await engine.run_zap(workspace.zap("z")) for _ in range(2)]
        finally:
            await engine.connections.close()

    assert [r.status for r in asyncio.run(twice())] == ["ok", "ok"]
    assert store.lease_holder("z") is None
    assert engine.leases.kept == frozenset()


def test_a_paused_zap_does_not_keep_its_lease(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule=EVERY))
    workspace = project.workspace
    store = workspace.store
    engine = Engine.for_workspace(workspace, owner="daemon-a")
    results: list[RunResult] = []
    daemon = Daemon(engine, workspace.zaps, on_result=results.append)

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: engine.leases.kept == {"z"})
        await asyncio.to_thread(store.pause, "z", "paused by a test")
        await wait_for(lambda: any(r.status == "paused" for r in results))
        assert engine.leases.kept == frozenset()
        assert await holder(store, "z") is None
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    paused = [r for r in results if r.status == "paused"]
    assert len(paused) == 1 and paused[0].message == "paused by a test"
    assert store.run_start("z").paused_reason == "paused by a test"


HOURLY = {"every": "1h"}


def _next_tick_after_first_run(
    project: ZapliteProject, service: memory_plugin.MemoryService, *, owner: str | None
) -> tuple[datetime, datetime, list[RunResult]]:
    """Run a daemon until its zap's first run ends: (when that run started, the next tick, the results)."""
    workspace = project.workspace
    engine = Engine.for_workspace(workspace, owner=owner)
    results: list[RunResult] = []
    daemon = Daemon(engine, workspace.zaps, on_result=results.append)

    async def scenario() -> tuple[datetime, datetime]:
        started = datetime.now(UTC)
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: len(results) >= 1)
        assert daemon.scheduler is not None
        job = daemon.scheduler.get_job("z")
        next_run = job.next_run_time
        daemon.stop()
        await asyncio.wait_for(runner, 10)
        return started, next_run

    started, next_run = asyncio.run(scenario())
    return started, next_run, results


def _on_the_grid(project: ZapliteProject, moment: datetime, interval: float) -> bool:
    zap = project.workspace.zaps["z"]
    offset = grid_offset(zap.connection or "", interval)
    return (
        abs(
            (moment.timestamp() - offset) / interval
            - round((moment.timestamp() - offset) / interval)
        )
        < 1e-6
    )


def test_after_a_run_that_gave_its_lease_up_the_next_tick_stays_on_the_grid(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    """No random next tick: a zap polls once per interval whichever daemon runs it."""
    service.add(name="news")
    project.add_zap(memory_zap(schedule=HOURLY))
    started, next_run, results = _next_tick_after_first_run(project, service, owner="daemon-a")

    assert results[0].delivered == 1
    assert _on_the_grid(project, next_run, 3600)
    assert 3600 <= (next_run - started).total_seconds() < 7200 + 5


def test_a_run_that_keeps_its_lease_stays_on_the_grid(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule=HOURLY))  # nothing to deliver: the lease is kept
    started, next_run, results = _next_tick_after_first_run(project, service, owner="daemon-a")

    assert results[0].delivered == 0
    assert _on_the_grid(project, next_run, 3600)
    assert 3600 <= (next_run - started).total_seconds() < 7200 + 5


def test_a_cron_schedule_keeps_its_times_after_a_delivering_run(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    service.add(name="news")
    project.add_zap(memory_zap(schedule={"cron": "0 0 1 1 *"}))  # once a year, on 1 January
    workspace = project.workspace
    results: list[RunResult] = []
    daemon = Daemon(
        Engine.for_workspace(workspace, owner="daemon-a"),
        workspace.zaps,
        on_result=results.append,
    )

    async def scenario() -> datetime:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        await wait_for(lambda: len(results) >= 1)  # the first run is at once, also for cron
        assert daemon.scheduler is not None
        job = daemon.scheduler.get_job("z")
        daemon.stop()
        await asyncio.wait_for(runner, 10)
        return job.next_run_time

    next_run = asyncio.run(scenario())
    assert results[0].delivered == 1
    assert (next_run.month, next_run.day, next_run.hour, next_run.minute) == (1, 1, 0, 0)
