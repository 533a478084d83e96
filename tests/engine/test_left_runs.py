"""A run row whose process is gone is closed as ``interrupted``, never one whose owner lives.

A run is ``running`` in the store from its first record until it finishes. A process
killed mid-run, or a store that stops answering just as the run finishes, leaves the
row open; the next process that holds the zap's lease closes it. The rows here are in
the project's real SQLite file; the outage at the finish is the one thing simulated
(a real one cannot be timed to fall on that statement).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.support import memory_plugin
from tests.support.memory_plugin import memory_zap
from tests.support.processes import dead_pid
from zaplite.engine.leases import owner_for
from zaplite.engine.run import Engine, RunResult
from zaplite.store import Store, StoreUnavailable
from zaplite.testing import ZapliteProject


def _statuses(store: Store, zap_id: str = "z") -> dict[int, str]:
    return {run.id: run.status for run in store.list_runs(zap_id)}


def _run(engine: Engine, project: ZapliteProject) -> RunResult:
    async def once() -> RunResult:
        try:
            return await engine.run_zap(project.workspace.zap("z"))
        finally:
            await engine.connections.close()

    return asyncio.run(once())


def test_the_run_of_a_crashed_process_is_interrupted_when_the_lease_is_taken(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    project.add_zap(memory_zap())
    store = project.workspace.store
    crashed = owner_for(dead_pid(), "crashed")
    left = store.start_run("z", owner=crashed)
    assert store.acquire_lease("z", crashed, 3600)  # it died holding the lease too

    service.add(name="a")
    result = _run(
        Engine.for_workspace(project.workspace, owner=owner_for(os.getpid(), "new")), project
    )

    assert result.status == "ok" and result.delivered == 1
    runs = {run.id: run for run in store.list_runs("z")}
    assert runs[left].status == "interrupted"
    assert runs[left].finished_at is not None
    assert "ended before the run finished" in (runs[left].message or "")
    assert [r.status for i, r in runs.items() if i != left] == ["ok"]


def test_the_run_of_a_live_process_stays_running_when_its_lease_was_lost(
    project: ZapliteProject, service: memory_plugin.MemoryService
) -> None:
    """A daemon stalled past its lease is alive: its row is its own to finish."""
    project.add_zap(memory_zap())
    store = project.workspace.store
    alive = owner_for(os.getppid(), "stalled")
    stalled = store.start_run("z", owner=alive)  # its lease expired: nobody holds it

    service.add(name="a")
    result = _run(
        Engine.for_workspace(project.workspace, owner=owner_for(os.getpid(), "new")), project
    )

    assert result.status == "ok"
    assert _statuses(store)[stalled] == "running"


def test_a_run_whose_finish_met_an_outage_is_interrupted_by_the_next_run_here(
    project: ZapliteProject, service: memory_plugin.MemoryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.add_zap(memory_zap())
    store = project.workspace.store
    engine = Engine.for_workspace(project.workspace, owner=owner_for(os.getpid(), "daemon"))
    finish = store.finish_run

    def outage(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("The store at test cannot be reached (connection refused).")

    monkeypatch.setattr(store, "finish_run", outage)
    service.add(name="a")
    with pytest.raises(StoreUnavailable):
        _run(engine, project)
    [left] = _statuses(store)
    assert _statuses(store) == {left: "running"}

    monkeypatch.setattr(store, "finish_run", finish)  # the store answers again
    service.add(name="b")
    assert _run(engine, project).status == "ok"
    statuses = _statuses(store)
    assert statuses.pop(left) == "interrupted"
    assert list(statuses.values()) == ["ok"]
