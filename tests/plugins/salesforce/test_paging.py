"""Paging and checkpoints: shared timestamps, late commits, expiring tokens and query cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from zaplite_salesforce.soql import parse_datetime

from tests.plugins.salesforce.harness import ZapDouble

pytestmark = pytest.mark.anyio


def _positions(zap: ZapDouble) -> list[tuple[datetime, str]]:
    return [(parse_datetime(c["ts"]), c["id"]) for c in zap.cursors if c.get("ts")]


def _assert_forward_only(zap: ZapDouble) -> None:
    positions = _positions(zap)
    assert positions == sorted(positions), "the cursor moved backwards"


async def _drain(zap: ZapDouble, *, max_pages: int | None = None, limit: int = 100) -> None:
    for _ in range(limit):
        before = zap.cursor
        fresh = await zap.poll(max_pages=max_pages)
        if not fresh and zap.cursor == before:
            return
    raise AssertionError("the polls never caught up")


@pytest.mark.parametrize("page_size", [200, 700, 2000])
async def test_shared_timestamp_across_pages_each_delivered_once(org, zap, page_size) -> None:
    stamp = datetime.now(UTC) - timedelta(minutes=1)
    rows = [{"LastName": f"Bulk {index}"} for index in range(2500)]
    ids = [row["Id"] for row in org.emu.create_many("Contact", rows, timestamp=stamp)]
    client = org.client(page_size=page_size)
    try:
        # A checkpoint after every Salesforce page, then a "crash": the keyset resumes.
        crashy = zap("updated_record", client, start="all", object="Contact", overlap_seconds=0)
        await _drain(crashy, max_pages=1)
        assert [r["Id"] for r in crashy.delivered] == ids
        assert crashy.duplicates == 0
        assert crashy.pages >= -(-2500 // page_size)
        _assert_forward_only(crashy)

        # One uninterrupted poll with the default overlap, then a re-poll: updated_record
        # reads the window again, new_record counts it (lookback.py) and reads nothing.
        for trigger, duplicates in (("updated_record", 2500), ("new_record", 0)):
            steady = zap(trigger, client, start="all", object="Contact")
            await steady.poll()
            assert sorted(r["Id"] for r in steady.delivered) == sorted(ids)
            assert await steady.poll() == []
            assert steady.duplicates == duplicates
    finally:
        await client.aclose()


async def test_record_committed_late_inside_the_overlap_is_delivered_once(org, client, zap) -> None:
    now = datetime.now(UTC)
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    no_overlap = zap(
        "new_record", client, start="all", object="Contact", fields=["LastName"], overlap_seconds=0
    )
    org.emu.create("Contact", {"LastName": "A"}, timestamp=now - timedelta(seconds=30))
    assert [r["LastName"] for r in await watcher.poll()] == ["A"]
    assert [r["LastName"] for r in await no_overlap.poll()] == ["A"]
    # B commits now, stamped two minutes ago (a long transaction): older than the cursor.
    org.emu.create("Contact", {"LastName": "B"}, timestamp=now - timedelta(minutes=2))
    org.emu.create("Contact", {"LastName": "C"})
    assert [r["LastName"] for r in await watcher.poll()] == ["B", "C"]
    assert await watcher.poll() == []
    assert [r["LastName"] for r in watcher.delivered] == ["A", "B", "C"]
    _assert_forward_only(watcher)
    # Without the overlap, the keyset alone misses B: the reason the overlap exists.
    assert [r["LastName"] for r in await no_overlap.poll()] == ["C"]


async def test_late_commit_before_a_start_now_zap_never_fires(org, client, zap) -> None:
    org.emu.create("Contact", {"LastName": "Existing"})
    watcher = zap("new_record", client, object="Contact", fields=["LastName"])
    assert await watcher.poll() == []
    org.emu.create("Contact", {"LastName": "Backdated"}, timestamp=datetime(2020, 1, 1, tzinfo=UTC))
    org.emu.create("Contact", {"LastName": "Fresh"})
    assert [r["LastName"] for r in await watcher.poll()] == ["Fresh"]


@pytest.mark.parametrize("overlap_seconds", [0, 300])
async def test_token_expiry_mid_paging_loses_and_repeats_nothing(org, zap, overlap_seconds) -> None:
    ids = [
        r["Id"]
        for r in org.emu.create_many(
            "Lead", [{"LastName": f"L{i}", "Company": "X"} for i in range(1000)]
        )
    ]
    client = org.client(page_size=200)
    try:
        watcher = zap(
            "new_record", client, start="all", object="Lead", overlap_seconds=overlap_seconds
        )

        def expire(page: int) -> None:
            if page in (1, 3):
                org.emu.expire_tokens()

        await watcher.poll(after_page=expire)
        assert [r["Id"] for r in watcher.delivered] == ids
        assert watcher.duplicates == 0
        assert watcher.pages == 5
        assert len(org.paths("/services/oauth2/token")) == 3
    finally:
        await client.aclose()


@pytest.mark.parametrize("overlap_seconds", [0, 300])
async def test_expired_query_locator_restarts_from_the_last_cursor(
    org, zap, overlap_seconds
) -> None:
    rows = [{"LastName": f"L{i}"} for i in range(1000)]
    ids = [r["Id"] for r in org.emu.create_many("Contact", rows)]
    client = org.client(page_size=200)
    try:
        watcher = zap(
            "new_contact", client, start="all", fields=["LastName"], overlap_seconds=overlap_seconds
        )

        def expire(page: int) -> None:
            if page == 2:
                org.emu.expire_query_locators()

        await watcher.poll(after_page=expire)
        assert sorted(r["Id"] for r in watcher.delivered) == sorted(ids)
        assert len(watcher.delivered) == 1000
        if overlap_seconds == 0:
            assert watcher.duplicates == 0
        _assert_forward_only(watcher)
    finally:
        await client.aclose()


async def test_keys_are_forgotten_once_behind_the_overlap(org, client, zap) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    org.emu.create("Contact", {"LastName": "Old"}, timestamp=old)
    watcher = zap("new_contact", client, start="all")
    await watcher.poll()
    assert len(watcher.keys) == 1
    org.emu.create("Contact", {"LastName": "New"})
    await watcher.poll()
    assert len(watcher.keys) == 1  # the old key fell behind watermark - overlap
    assert await watcher.poll() == []
