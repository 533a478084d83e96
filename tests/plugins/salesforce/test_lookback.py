"""The cheap look-back: after a large import, an idle ``new_record`` poll counts its window.

``plugins/zaplite_salesforce/lookback.py`` argues why equal counts mean nothing was
missed, and where that does not hold (``where``, ``updated_record``): these tests hold
the late commits that argument is about against the real emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.anyio

IMPORTED = 4500
"""Three pages of 2,000: the window is far more than a page."""


def _import(org, minutes_ago: float = 1.0) -> list[str]:
    stamp = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    rows = [{"LastName": f"Imported {i}"} for i in range(IMPORTED)]
    return [row["Id"] for row in org.emu.create_many("Contact", rows, timestamp=stamp)]


async def _calls(org, zap) -> tuple[int, list]:
    """API calls one poll of ``zap`` spent, and what it delivered."""
    used = org.emu.api_used
    fresh = await zap.poll()
    return org.emu.api_used - used, fresh


async def test_an_idle_poll_after_a_large_import_costs_one_call(org, client, zap) -> None:
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    ids = _import(org)
    assert sorted(r["Id"] for r in await watcher.poll()) == sorted(ids)
    assert "seen" in watcher.cursor and sum(watcher.cursor["seen"].values()) == IMPORTED
    for _ in range(3):
        assert await _calls(org, watcher) == (1, [])
    assert watcher.duplicates == 0, "nothing was read again"
    assert org.count("/composite") == 3

    # A new record is read by the same one call.
    new = org.emu.create("Contact", {"LastName": "New"})
    calls, fresh = await _calls(org, watcher)
    assert (calls, [r["Id"] for r in fresh]) == (1, [new["Id"]])
    assert await _calls(org, watcher) == (1, [])


async def test_a_late_commit_inside_the_window_is_found_by_the_count(org, client, zap) -> None:
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    _import(org, minutes_ago=1)
    await watcher.poll()
    assert await _calls(org, watcher) == (1, [])
    # Committed now, stamped three minutes ago: before the cursor, inside the window.
    late = org.emu.create(
        "Contact", {"LastName": "Late"}, timestamp=datetime.now(UTC) - timedelta(minutes=3)
    )
    calls, fresh = await _calls(org, watcher)
    assert [r["Id"] for r in fresh] == [late["Id"]]
    assert calls == 1 + 3, "the count differed: the window was read again (three pages)"
    assert watcher.duplicates == IMPORTED
    assert await _calls(org, watcher) == (1, []), "counted afresh, the next poll is cheap again"


async def test_a_deleted_record_does_not_hide_a_late_commit(org, client, zap) -> None:
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    ids = _import(org)
    await watcher.poll()
    org.emu.delete("Contact", ids[0])
    late = org.emu.create(
        "Contact", {"LastName": "Late"}, timestamp=datetime.now(UTC) - timedelta(minutes=2)
    )
    assert [r["Id"] for r in await watcher.poll()] == [late["Id"]]
    assert await _calls(org, watcher) == (1, [])


async def test_a_crash_in_the_middle_of_a_reread_loses_nothing(org, client, zap) -> None:
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    ids = _import(org)
    await watcher.poll()
    late = org.emu.create(
        "Contact", {"LastName": "Late"}, timestamp=datetime.now(UTC) - timedelta(minutes=2)
    )
    # The re-read stops after its first page's checkpoint: the counts saved are partial.
    await watcher.poll(max_pages=2)
    for _ in range(3):
        await watcher.poll()
    assert sorted(r["Id"] for r in watcher.delivered) == sorted([*ids, late["Id"]])
    assert await _calls(org, watcher) == (1, [])


async def test_a_start_now_zap_counts_only_past_its_floor(org, client, zap) -> None:
    _import(org, minutes_ago=0.5)
    watcher = zap("new_record", client, start="now", object="Contact", fields=["LastName"])
    assert await watcher.poll() == []
    ids = [r["Id"] for r in org.emu.create_many("Contact", [{"LastName": "x"}] * 2500)]
    assert sorted(r["Id"] for r in await watcher.poll()) == sorted(ids)
    assert await _calls(org, watcher) == (1, [])
    assert sum(watcher.cursor["seen"].values()) == 2500, "the records before the floor not counted"


async def test_a_cursor_without_counts_reads_the_window_once_then_counts(org, client, zap) -> None:
    watcher = zap("new_record", client, start="all", object="Contact", fields=["LastName"])
    _import(org)
    await watcher.poll()
    watcher.cursor = {k: v for k, v in watcher.cursor.items() if k != "seen"}  # an older zaplite's
    calls, fresh = await _calls(org, watcher)
    assert (calls, fresh) == (3, [])
    assert await _calls(org, watcher) == (1, [])


async def test_where_and_updated_record_keep_reading_the_window(org, client, zap) -> None:
    """Counts are not sound for them (lookback.py): a late update of a record read is missed."""
    updated = zap("updated_record", client, start="all", object="Contact", fields=["LastName"])
    where = zap(
        "new_record", client, start="all", object="Contact", where={"LastName": "Imported 7"}
    )
    ids = _import(org)
    await updated.poll()
    await where.poll()
    assert await _calls(org, updated) == (3, [])
    assert await _calls(org, where) == (1, [])  # its window is one record: one plain query
    assert org.count("/composite") == 0
    # An update of a record already read, committed late with a stamp before the cursor:
    # the window's count is unchanged, but the re-read finds the new version.
    stamp = datetime.now(UTC) - timedelta(seconds=30)
    org.emu.update("Contact", ids[5], {"LastName": "Changed"}, timestamp=stamp)
    assert [r["LastName"] for r in await updated.poll()] == ["Changed"]
