"""Polls of one connection that fall due together go out as Composite calls (one API call each)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import zaplite_clevertap
import zaplite_salesforce
from zaplite_salesforce.composite import MAX_QUERIES

from tests.support.emulators import Account, Org
from tests.support.zaps import contact_zap
from zaplite.engine.run import Engine
from zaplite.errors import ParamsRejected, RetryableError
from zaplite.testing import ZapliteProject

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(org: Org):
    """A client whose first polls read their backlog by REST (no COUNT() for Bulk first)."""
    sf = org.client(bulk_threshold=0)
    try:
        yield sf
    finally:
        await sf.aclose()


async def _together(zaps: list[Any]) -> list[Any]:
    """Poll every zap at the same moment, as the daemon's grid ticks them; errors returned."""
    return await asyncio.gather(*(zap.poll() for zap in zaps), return_exceptions=True)


async def test_fifty_idle_zaps_cost_ten_calls_and_each_gets_its_records(org, client, zap) -> None:
    zaps = [zap("new_contact", client, start="now", fields=["Email"]) for _ in range(50)]
    assert not any(isinstance(r, Exception) for r in await _together(zaps))  # the baselines
    used = org.emu.api_used
    for _ in range(3):
        assert await _together(zaps) == [[]] * 50
    assert org.emu.api_used - used == 3 * 50 // MAX_QUERIES, "five polls a call"
    assert org.count("/composite") >= 30
    assert org.count("/query") == 0, "no query went alone"

    created = org.add_contacts(3)
    results = await _together(zaps)
    assert [sorted(r["Email"] for r in result) for result in results] == [sorted(created)] * 50


async def test_a_lone_poll_is_sent_as_itself(org, client, zap) -> None:
    watched = zap("new_contact", client, start="all", fields=["Email"])
    created = org.add_contacts(2)
    assert [r["Email"] for r in await watched.poll()] == created
    assert org.count("/composite") == 0


async def test_a_subrequest_error_fails_only_its_zaps_poll(org, client, zap) -> None:
    zaps = [zap("new_contact", client, start="all", fields=["Email"]) for _ in range(3)]
    created = org.add_contacts(2)
    org.emu.fail_next(
        1,
        400,
        body=[
            {"message": "No such column 'Foo' on entity 'Contact'", "errorCode": "INVALID_FIELD"}
        ],
        path_contains="/query",
    )
    results = await _together(zaps)
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], ParamsRejected)
    assert "No such column 'Foo'" in str(failed[0])
    assert [sorted(r["Email"] for r in result) for result in results if result not in failed] == [
        sorted(created)
    ] * 2
    assert org.count("/composite") == 1
    # The failed zap polls again from its checkpoint, and gets its records.
    [again] = [z for z in zaps if not z.delivered]
    assert sorted(r["Email"] for r in await again.poll()) == sorted(created)


async def test_a_failed_composite_call_fails_every_poll_in_it(org, client, zap) -> None:
    zaps = [zap("new_contact", client, start="all", fields=["Email"]) for _ in range(2)]
    org.add_contacts(1)
    org.emu.fail_next(1, 503, path_contains="/composite")
    results = await _together(zaps)
    assert all(isinstance(r, RetryableError) for r in results)
    assert [len(r) for r in await _together(zaps)] == [1, 1]


async def test_later_pages_follow_alone(org, zap) -> None:
    small = org.client(page_size=200, bulk_threshold=0)
    try:
        zaps = [zap("new_contact", small, start="all", fields=["Email"]) for _ in range(2)]
        org.add_contacts(450)
        results = await _together(zaps)
        assert [len(r) for r in results] == [450, 450]
        assert org.count("/composite") == 1
        assert org.next_pages() == 4, "two more pages each, by nextRecordsUrl"
    finally:
        await small.aclose()


async def test_composite_off_sends_each_query_alone(org, zap) -> None:
    alone = org.client(composite=False, bulk_threshold=0)
    try:
        zaps = [zap("new_contact", alone, start="all", fields=["Email"]) for _ in range(3)]
        org.add_contacts(1)
        assert [len(r) for r in await _together(zaps)] == [1, 1, 1]
        assert org.count("/composite") == 0 and org.queries() == 3
    finally:
        await alone.aclose()


def test_fifty_zaps_through_the_engine_poll_in_ten_calls(
    tmp_path: Path, org: Org, ct_account: Account
) -> None:
    """The engine running 50 idle zaps of one connection at one tick spends 10 API calls."""
    project = ZapliteProject(tmp_path / "project")
    project.use_plugins(zaplite_salesforce, zaplite_clevertap)
    project.add_connection("salesforce", "salesforce", **org.connection())
    project.add_connection("clevertap", "clevertap", **ct_account.connection())
    for n in range(50):
        project.add_zap(contact_zap(f"contacts-{n}", sf="salesforce", ct="clevertap", every="30s"))
    try:
        workspace = project.workspace
        zaps = list(workspace.zaps.values())

        async def tick(engine: Engine) -> list[Any]:
            return await asyncio.gather(*(engine.run_zap(z) for z in zaps))

        async def go() -> list[int]:
            # No lease owner: every lease is "kept", as a daemon keeps an idle zap's.
            engine = Engine.for_workspace(workspace)
            spent = []
            try:
                for _ in range(3):
                    used = org.emu.api_used
                    results = await tick(engine)
                    assert {r.status for r in results} == {"ok"}, [r.message for r in results]
                    spent.append(org.emu.api_used - used)
            finally:
                await engine.connections.close()
            return spent

        spent = asyncio.run(go())
        assert spent[0] <= 12, spent  # one describe, then the baselines five a call
        assert spent[1:] == [10, 10], spent
    finally:
        project.close()
