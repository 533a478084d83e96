"""A Salesforce connection's ``api_budget``: polling slows evenly when the day would be over it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zaplite_clevertap
import zaplite_salesforce

from tests.support.emulators import Account, Org
from tests.support.zaps import contact_zap
from zaplite.engine.budget import Budgets, Pace
from zaplite.engine.daemon import Daemon
from zaplite.engine.run import Engine
from zaplite.engine.schedules import GridTrigger
from zaplite.testing import ZapliteProject


@pytest.fixture
def project(tmp_path: Path, org: Org, ct_account: Account) -> Iterator[ZapliteProject]:
    """Three idle new-contact zaps on a 1 s schedule, on a connection with a 10% budget."""
    project = ZapliteProject(tmp_path / "project")
    project.use_plugins(zaplite_salesforce, zaplite_clevertap)
    project.add_connection("salesforce", "salesforce", **org.connection(api_budget=0.1))
    project.add_connection("clevertap", "clevertap", **ct_account.connection())
    for n in range(3):
        project.add_zap(contact_zap(f"idle-{n}", sf="salesforce", ct="clevertap", every="1s"))
    try:
        yield project
    finally:
        project.close()


def test_over_its_budget_a_connection_polls_evenly_slower(
    project: ZapliteProject, org: Org
) -> None:
    # 20,000 calls a day, 10% of them for zaplite: 2,000, while three zaps polling every
    # second in one composite call would make 86,400.
    org.emu.set_quota(20_000)
    workspace = project.workspace
    engine = Engine.for_workspace(workspace, owner="budget-test")
    engine.budgets = Budgets(settling=2.0)
    paces: list[Pace] = []
    daemon = Daemon(engine, workspace.zaps, on_pace=paces.append)
    periods: dict[str, float] = {}

    async def scenario() -> None:
        runner = asyncio.create_task(daemon.run(install_signals=False))
        for _ in range(300):
            if paces:
                break
            await asyncio.sleep(0.05)
        assert daemon.scheduler is not None
        for zap_id in workspace.zaps:
            trigger = daemon.scheduler.get_job(zap_id).trigger
            assert isinstance(trigger, GridTrigger)
            periods[zap_id] = trigger.period
        daemon.stop()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert paces, "the connection was never paced"
    [pace] = paces
    assert pace.slowed and pace.connection == "salesforce" and pace.target == 2_000
    assert 10 < pace.factor < 100, pace
    assert list(periods.values()) == [pytest.approx(pace.factor)] * 3, "every zap, evenly"
    assert "polling slowed" in pace.line() and "budget of 2,000" in pace.line()
    metric = engine.metrics.registry.get_sample_value(
        "zaplite_connection_pace", {"connection": "salesforce"}
    )
    assert metric == pytest.approx(pace.factor)
    # A pace back at 1 puts every zap on its schedule again.
    daemon_again = Daemon(engine, workspace.zaps)

    async def restored() -> list[float]:
        runner = asyncio.create_task(daemon_again.run(install_signals=False))
        await asyncio.sleep(0.2)
        assert daemon_again.scheduler is not None
        job = daemon_again.scheduler.get_job("idle-0")
        slowed = job.trigger.period
        daemon_again.repace(Pace("salesforce", 1.0, 1_000, 2_000))
        back = job.trigger.period
        daemon_again.stop()
        await asyncio.wait_for(runner, 10)
        return [slowed, back]

    slowed, back = asyncio.run(restored())
    assert slowed >= pace.factor, "a daemon starts its zaps at the engine's pace"
    assert back == 1.0


def test_connections_test_shows_the_allowance_the_usage_and_zaplites_share(
    project: ZapliteProject, org: Org
) -> None:
    org.emu.set_quota(20_000, used=1_234)
    project.store.add_api_calls({"salesforce": 200}, at=datetime.now(UTC) - timedelta(hours=3))
    project.store.add_api_calls({"salesforce": 50}, at=datetime.now(UTC) - timedelta(hours=30))
    result = project.cli("connections", "--test", "--json")
    assert result.exit_code == 0, result.output
    [row] = [r for r in json.loads(result.output) if r["name"] == "salesforce"]
    budget = row["api_budget"]
    assert budget["allowance"] == 20_000 and budget["budget"] == 0.1
    assert budget["used_24h"] >= 1_234 and budget["zaplite_24h"] == 200
    assert "daily API allowance 20,000" in row["test"]["message"]
    assert "zaplite's share 200 (1.0%); its budget 10% (2,000 a day)" in row["test"]["message"]
