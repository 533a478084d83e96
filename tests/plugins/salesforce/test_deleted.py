"""The ``deleted_record`` trigger against the emulator: queryAll, pages, restarts, the recycle bin."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from zaplite_salesforce import app
from zaplite_salesforce.deleted import POLLED_KEY
from zaplite_salesforce.soql import parse_datetime

from tests.plugins.salesforce.harness import DictState
from zaplite import PollContext
from zaplite.sandbox.salesforce import format_datetime

pytestmark = pytest.mark.anyio


def _ids(records: list[dict]) -> list[str]:
    return [record["Id"] for record in records]


async def test_a_deletion_fires_once_with_the_fields_as_they_were(org, client, zap) -> None:
    kept = org.emu.create("Contact", {"LastName": "Kept", "Email": "kept@example.com"})
    gone = org.emu.create("Contact", {"LastName": "Gone", "Email": "gone@example.com"})
    org.emu.delete("Contact", org.emu.create("Contact", {"LastName": "Earlier"})["Id"])
    watcher = zap("deleted_record", client, object="Contact", fields=["LastName", "Email"])
    assert await watcher.poll() == []  # start "now": deletions before the zap do not fire

    org.emu.delete("Contact", gone["Id"])
    [record] = await watcher.poll()
    assert record["Id"] == gone["Id"]
    assert (record["LastName"], record["Email"], record["IsDeleted"]) == (
        "Gone",
        "gone@example.com",
        True,
    )
    assert "SystemModstamp" in record and "attributes" not in record
    assert await watcher.poll() == []  # the overlap reads it again; its Id is known
    assert watcher.duplicates >= 1
    assert all("/queryAll" in path for path in org.paths("/query"))
    # An update of a live record is no deletion.
    org.emu.update("Contact", kept["Id"], {"Email": "new@example.com"})
    assert await watcher.poll() == []


async def test_deleted_restored_and_deleted_again_fires_twice(org, zap) -> None:
    client = org.client()
    contact = org.emu.create("Contact", {"LastName": "Twice"})
    watcher = zap("deleted_record", client, object="Contact", overlap_seconds=0)
    await watcher.poll()
    org.emu.delete("Contact", contact["Id"])
    assert _ids(await watcher.poll()) == [contact["Id"]]
    org.emu.undelete("Contact", contact["Id"])
    assert await watcher.poll() == []  # back from the recycle bin: not a deletion
    assert org.emu.get("Contact", contact["Id"])["IsDeleted"] is False
    org.emu.delete("Contact", contact["Id"])
    assert _ids(await watcher.poll()) == [contact["Id"]]
    await client.aclose()


async def test_where_conditions_apply_to_deleted_records(org, client, zap) -> None:
    web = org.emu.create("Contact", {"LastName": "Web", "LeadSource": "Web"})
    phone = org.emu.create("Contact", {"LastName": "Phone", "LeadSource": "Phone Inquiry"})
    watcher = zap("deleted_record", client, object="Contact", where={"LeadSource": "Web"})
    await watcher.poll()
    for contact in (web, phone):
        org.emu.delete("Contact", contact["Id"])
    assert _ids(await watcher.poll()) == [web["Id"]]


@pytest.mark.slow
async def test_deletions_sharing_a_timestamp_across_pages_and_restarts(org, zap) -> None:
    """A bulk delete of 900 contacts, read 200 a page, each poll cut after its first page."""
    org.add_contacts(900)
    first = org.client(page_size=200)
    crashy = zap("deleted_record", first, object="Contact", fields=["Email"], overlap_seconds=0)
    steady = zap("deleted_record", first, object="Contact", fields=["Email"])
    await crashy.poll()
    await steady.poll()
    stamp = datetime.now(UTC) + timedelta(seconds=1)
    for contact in org.emu.records("Contact"):
        org.emu.delete("Contact", contact["Id"], timestamp=stamp)
    await first.aclose()
    for _restart in range(20):  # each restart: a new client (a new daemon), the saved cursor
        client = org.client(page_size=200)
        crashy.client = client
        fresh = await crashy.poll(max_pages=1)
        await client.aclose()
        if not fresh:
            break
    emails = sorted(org.email(i) for i in range(900))
    assert sorted(record["Email"] for record in crashy.delivered) == emails
    assert crashy.duplicates == 0 and crashy.pages >= 900 // 200

    # With the overlap: one whole poll after a restart, then another that re-reads it all.
    for _restart in range(2):
        client = org.client(page_size=200)
        steady.client = client
        await steady.poll()
        await client.aclose()
    assert sorted(record["Email"] for record in steady.delivered) == emails
    assert steady.duplicates == 900


async def test_start_all_and_the_most_recent_deletions(org, client, zap) -> None:
    old = org.emu.create("Contact", {"LastName": "Old"})
    org.emu.delete("Contact", old["Id"])
    everything = zap("deleted_record", client, start="all", object="Contact")
    assert _ids(await everything.poll()) == [old["Id"]]
    newer = org.emu.create("Contact", {"LastName": "Newer"})
    org.emu.delete("Contact", newer["Id"])
    trigger = app.triggers["deleted_record"]
    recent = await trigger.recent(
        PollContext(
            zap_id="z",
            params=everything.params,
            connection=client,
            cursor=None,
            start="now",
            state=DictState(),
            log=logging.getLogger("t"),
            limit=5,
        )
    )
    assert _ids(recent) == [newer["Id"], old["Id"]]


async def test_a_zap_that_did_not_poll_for_16_days_says_deletions_were_missed(
    org, client, zap, caplog
) -> None:
    watcher = zap("deleted_record", client, object="Contact")
    with caplog.at_level(logging.WARNING):
        await watcher.poll()
        await watcher.poll()
    assert "missed" not in caplog.text  # polled a moment ago
    polled = watcher.state.values[POLLED_KEY]
    assert datetime.now(UTC) - parse_datetime(polled) < timedelta(minutes=5)
    watcher.state.values[POLLED_KEY] = format_datetime(datetime.now(UTC) - timedelta(days=16))
    with caplog.at_level(logging.WARNING):
        await watcher.poll()
    assert "more than 15 days ago" in caplog.text and "were missed" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await watcher.poll()  # it remembered this poll: nothing more to say
    assert "missed" not in caplog.text
