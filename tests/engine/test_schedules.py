"""Schedules: a grid per interval and connection, a poll at most once per interval, even with two daemons."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta

from tests.support import memory_plugin
from tests.support.memory_plugin import memory_zap
from zaplite.engine.daemon import COURTESY_BASE, COURTESY_STEP, Daemon
from zaplite.engine.run import Engine, RunResult
from zaplite.engine.schedules import GridTrigger, grid_offset
from zaplite.project.workspace import Workspace
from zaplite.testing import ZapliteProject


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def test_a_grid_ticks_on_multiples_of_its_interval_past_its_offset() -> None:
    grid = GridTrigger(30, offset=7)
    first = grid.get_next_fire_time(None, _at(1_000_000))
    assert first == _at(1_000_027)  # 7 + 30 * 33,334
    assert grid.get_next_fire_time(first, first) == _at(1_000_057)
    assert grid.get_next_fire_time(None, _at(1_000_027)) == _at(1_000_027)


def test_the_tick_after_an_off_grid_run_is_at_least_an_interval_later() -> None:
    grid = GridTrigger(30, offset=0)
    # A daemon's first run is at start-up, between two grid instants.
    started = _at(1_000_020 + 25)
    following = grid.get_next_fire_time(started, started)
    assert following == _at(1_000_080)
    assert following - started >= timedelta(seconds=30)


def test_a_pace_stretches_the_grid_evenly() -> None:
    grid = GridTrigger(30, offset=0, pace=2.5)
    assert grid.period == 75
    first = grid.get_next_fire_time(None, _at(1_000_000))
    assert first is not None and first.timestamp() % 75 == 0
    assert grid.get_next_fire_time(first, first) == first + timedelta(seconds=75)
    assert GridTrigger(30, pace=0.5).period == 30, "never faster than the schedule"


def test_the_offset_depends_on_the_connection_only() -> None:
    assert grid_offset("salesforce", 30) == grid_offset("salesforce", 30)
    assert grid_offset("salesforce", 30) != grid_offset("other-org", 30)
    assert 0 <= grid_offset("salesforce", 30) < 30


def test_zaps_of_one_connection_and_interval_tick_together(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap("a", schedule={"every": "1m"}, trigger={"start": "now"}))
    project.add_zap(memory_zap("b", schedule={"every": "1m"}, trigger={"start": "now"}))
    project.add_zap(memory_zap("c", schedule={"every": "2m"}, trigger={"start": "now"}))
    workspace = project.workspace
    daemon = Daemon(Engine.for_workspace(workspace), workspace.zaps)

    async def next_runs() -> dict[str, datetime]:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        for _ in range(3000):  # the first run of each, at start-up, off the grid
            jobs = daemon.scheduler.get_jobs() if daemon.scheduler else []
            if len(jobs) == 3 and service.polls >= 3:
                break
            await asyncio.sleep(0.01)
        assert service.polls >= 3, "the zaps did not run at start-up within 30 s"
        await asyncio.sleep(0.1)
        assert daemon.scheduler is not None
        times = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()}
        daemon.stop()
        await asyncio.wait_for(runner, 10)
        return times

    times = asyncio.run(next_runs())
    assert times["a"] == times["b"]
    for zap_id, interval in (("a", 60), ("c", 120)):
        steps = (times[zap_id].timestamp() - grid_offset("mem", interval)) / interval
        assert abs(steps - round(steps)) < 1e-6, f"{zap_id} ticks on its connection's grid"


def _poll_times(
    project: ZapliteProject,
    service: memory_plugin.MemoryService,
    *,
    daemons: int,
    seconds: float,
) -> tuple[list[float], list[list[RunResult]]]:
    """Run ``daemons`` daemons on the project's store for ``seconds`` while records keep arriving."""
    results: list[list[RunResult]] = [[] for _ in range(daemons)]
    first = project.workspace
    workspaces = [first] + [
        Workspace.load(project.config_path, registry=first.registry) for _ in range(daemons - 1)
    ]
    runners = [
        Daemon(
            Engine.for_workspace(workspace, owner=f"daemon-{index}"),
            workspace.zaps,
            on_result=results[index].append,
        )
        for index, workspace in enumerate(workspaces)
    ]
    polls_before = len(service.poll_times)

    async def scenario() -> None:
        tasks = [asyncio.create_task(d.run(install_signals=False)) for d in runners]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if int(time.monotonic() * 20) % 5 == 0:  # a record every 0.25 s or so
                service.add(name="news")
            await asyncio.sleep(0.05)
        for daemon in runners:
            daemon.stop()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
    finally:
        for workspace in workspaces[1:]:
            workspace.close()
    polled = service.poll_times[polls_before:]
    return polled, results


def _at_most_once_per_interval(polled: list[float], interval: float) -> None:
    # Each poll is counted in the interval of the grid it was due in (ticks are at the
    # connection's offset plus a multiple of the interval, and a poll starts after its
    # tick): two polls in one interval would share it. A poll that a busy machine starts
    # late is still in its own interval, where a minimum gap between polls would not
    # tell it from a second poll.
    offset = grid_offset("mem", interval)
    ticks = [math.floor((at - offset) / interval) for at in polled]
    assert ticks and len(set(ticks)) == len(ticks), [round(at - offset, 3) for at in polled]


def test_a_busy_zap_polls_once_per_interval_with_one_daemon(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap(schedule={"every": "0.5s"}))
    polled, results = _poll_times(project, service, daemons=1, seconds=3.2)

    _at_most_once_per_interval(polled, 0.5)
    assert len(polled) >= 5
    assert sum(r.delivered for r in results[0]) > 0


def test_a_busy_zap_polls_once_per_interval_with_two_daemons_sharing_a_store(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    """The lease passes between the daemons; the zap still polls once per interval."""
    project.add_zap(memory_zap(schedule={"every": "0.5s"}))
    polled, results = _poll_times(project, service, daemons=2, seconds=4.2)

    _at_most_once_per_interval(polled, 0.5)
    assert len(polled) >= 6
    delivered = [sum(r.delivered for r in each) for each in results]
    assert all(count > 0 for count in delivered), f"both daemons take turns: {delivered}"


def test_the_daemon_holding_fewer_leases_waits_less(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap("busy", schedule={"every": "1m"}))
    workspace = project.workspace
    daemon = Daemon(Engine.for_workspace(workspace, owner="daemon-a"), workspace.zaps)
    assert daemon.courtesy("busy") == 0, "alone, a daemon takes a free lease at once"
    daemon._gave_up.add("busy")
    assert daemon.courtesy("busy") == COURTESY_BASE + COURTESY_STEP, "unless it gave it up"
    daemon._gave_up.clear()
    daemon._rival_seen = time.monotonic()  # it met another daemon
    assert daemon.courtesy("busy") == COURTESY_BASE
    daemon._gave_up.add("busy")
    assert daemon.courtesy("busy") == COURTESY_BASE + COURTESY_STEP
