"""The gate that lets the next page be prepared only while the page in flight waits for answers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.support.memory_plugin import memory_zap
from zaplite.engine.delivery import Delivery
from zaplite.engine.gate import AheadGate, OpenGate
from zaplite.store import Store


def test_work_ahead_waits_while_the_gate_is_shut_and_goes_on_once_it_opens() -> None:
    async def scenario() -> list[str]:
        gate = AheadGate()
        seen: list[str] = []

        async def ahead() -> None:
            await gate.opened()
            seen.append("ahead ran")

        task = asyncio.create_task(ahead())
        await asyncio.sleep(0.01)
        seen.append("still shut")
        with gate.waiting():
            with gate.waiting():  # nested waits keep it open until the outer one ends
                pass
            await asyncio.sleep(0.01)
        await task
        return seen

    assert asyncio.run(scenario()) == ["still shut", "ahead ran"]


def test_the_gate_shuts_when_the_last_wait_ends() -> None:
    async def scenario() -> bool:
        gate = AheadGate()
        with gate.waiting():
            pass
        waiter = asyncio.create_task(gate.opened())
        await asyncio.sleep(0.01)
        done = waiter.done()
        waiter.cancel()
        return done

    assert asyncio.run(scenario()) is False


def test_an_open_gate_never_makes_anyone_wait() -> None:
    async def scenario() -> None:
        gate = OpenGate()
        with gate.waiting():
            pass
        await asyncio.wait_for(gate.opened(), 1)

    asyncio.run(scenario())


def test_the_next_page_is_not_prepared_while_a_page_is_recorded(
    project: Any, service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording a page runs on a thread that needs the GIL row by row: nothing competes."""
    for n in range(12):
        service.add(name=f"n{n}")
    # Each next page arrives while the page before it is being recorded.
    project.add_zap(memory_zap(trigger={"params": {"page_size": 3, "page_delay": 0.02}}))
    recording = threading.Event()
    overlaps: list[int] = []
    prepared: list[int] = []
    commit_page = Store.commit_page
    prepare_slice = Delivery._prepare_slice

    def recorded(self: Store, *args: Any, **kwargs: Any) -> Any:
        recording.set()
        try:
            time.sleep(0.05)  # a slow disk: the loop would have time to prepare if let
            return commit_page(self, *args, **kwargs)
        finally:
            recording.clear()

    def prepare(self: Delivery, items: Any) -> None:
        prepared.append(len(items))
        if recording.is_set():
            overlaps.append(len(items))
        prepare_slice(self, items)

    monkeypatch.setattr(Store, "commit_page", recorded)
    monkeypatch.setattr(Delivery, "_prepare_slice", prepare)
    [run] = project.run_once()
    assert (run.status, run.delivered, run.pages) == ("ok", 12, 4)
    assert sum(prepared) == 12
    assert overlaps == []
