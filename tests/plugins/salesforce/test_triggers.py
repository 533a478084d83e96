"""Each Salesforce trigger end to end over real HTTP against the emulator."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from zaplite_salesforce import NewRecordParams, app

from tests.plugins.salesforce.harness import DictState
from zaplite import PollContext
from zaplite.errors import ParamsRejected

pytestmark = pytest.mark.anyio


async def test_new_record_start_now_skips_existing_and_delivers_new(org, client, zap) -> None:
    org.emu.create("Contact", {"LastName": "Before", "Email": "before@example.com"})
    watcher = zap(
        "new_record", client, object="Contact", fields=["LastName", "Email", "Owner.Name"]
    )
    assert await watcher.poll() == []
    first_cursor = watcher.cursor
    assert first_cursor["floor"] is not None

    created = org.emu.create("Contact", {"LastName": "After", "Email": "after@example.com"})
    [record] = await watcher.poll()
    assert record == {
        "Id": created["Id"],
        "LastName": "After",
        "Email": "after@example.com",
        "Owner": {"Name": "Integration User"},
        "CreatedDate": record["CreatedDate"],
    }
    assert "attributes" not in str(record)
    assert await watcher.poll() == []
    assert watcher.duplicates >= 1  # the overlap re-read it; the key dedup dropped it


async def test_new_record_start_all_and_instant(org, client, zap) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    org.emu.create("Lead", {"LastName": "Old", "Company": "A"}, timestamp=old)
    recent = org.emu.create("Lead", {"LastName": "Recent", "Company": "B"})
    everything = zap("new_record", client, start="all", object="Lead", fields=["LastName"])
    assert [r["LastName"] for r in await everything.poll()] == ["Old", "Recent"]
    since = zap("new_record", client, start=datetime.now(UTC) - timedelta(days=1), object="Lead")
    assert [r["Id"] for r in await since.poll()] == [recent["Id"]]
    # The overlap of later polls never reaches back before the instant.
    assert await since.poll() == []


async def test_new_contact_with_where_conditions(org, client, zap) -> None:
    watcher = zap(
        "new_contact",
        client,
        start="all",
        fields=["LastName", "LeadSource"],
        where={"LeadSource": ["Web", "Phone Inquiry"], "LastName": "Match"},
    )
    org.emu.create("Contact", {"LastName": "Match", "LeadSource": "Web"})
    org.emu.create("Contact", {"LastName": "Match", "LeadSource": "Other"})
    org.emu.create("Contact", {"LastName": "Other", "LeadSource": "Web"})
    org.emu.create("Contact", {"LastName": "Match", "LeadSource": "Phone Inquiry"})
    records = await watcher.poll()
    assert [(r["LastName"], r["LeadSource"]) for r in records] == [
        ("Match", "Web"),
        ("Match", "Phone Inquiry"),
    ]


async def test_field_names_come_back_in_salesforce_spelling(org, client, zap) -> None:
    org.emu.create("Contact", {"LastName": "Case", "Email": "c@example.com"})
    watcher = zap("new_contact", client, start="all", fields=["email", "owner.name"])
    [record] = await watcher.poll()
    assert record["Email"] == "c@example.com"
    assert record["Owner"] == {"Name": "Integration User"}


async def test_successive_updates_fire_updated_record_each_time_never_new_record(
    org, client, zap
) -> None:
    updated = zap("updated_record", client, object="Opportunity", fields=["StageName"])
    created = zap("new_record", client, object="Opportunity", fields=["StageName"])
    assert await updated.poll() == [] and await created.poll() == []
    opp = org.emu.create(
        "Opportunity", {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    assert [r["StageName"] for r in await updated.poll()] == ["Prospecting"]
    assert [r["Id"] for r in await created.poll()] == [opp["Id"]]
    stages = ["Qualification", "Negotiation/Review", "Closed Won"]
    for stage in stages:
        org.emu.update("Opportunity", opp["Id"], {"StageName": stage})
        assert [r["StageName"] for r in await updated.poll()] == [stage]
        assert await created.poll() == []
    assert len({r["SystemModstamp"] for r in updated.delivered}) == 4


async def test_watch_fields_ignore_other_changes_and_carry_previous(org, client, zap) -> None:
    existing = org.emu.create(
        "Opportunity", {"Name": "Old deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    watcher = zap(
        "updated_record",
        client,
        object="Opportunity",
        fields=["Name", "Amount"],
        watch_fields=["StageName"],
    )
    assert await watcher.poll() == []
    # A record that existed before the zap: its first change is its baseline, not a fire.
    org.emu.update("Opportunity", existing["Id"], {"Amount": 10})
    assert await watcher.poll() == []
    org.emu.update("Opportunity", existing["Id"], {"StageName": "Qualification"})
    [fired] = await watcher.poll()
    assert fired["StageName"] == "Qualification"
    assert fired["_previous"] == {"StageName": "Prospecting"}

    new = org.emu.create(
        "Opportunity", {"Name": "New deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    [fired] = await watcher.poll()
    assert fired["Id"] == new["Id"] and fired["_previous"] == {"StageName": None}
    org.emu.update("Opportunity", new["Id"], {"Amount": 500, "Name": "Renamed"})
    assert await watcher.poll() == []
    org.emu.update("Opportunity", new["Id"], {"StageName": "Closed Won"})
    [fired] = await watcher.poll()
    assert fired["_previous"] == {"StageName": "Prospecting"}
    assert fired["Amount"] == 500
    assert await watcher.poll() == []


async def test_watch_fields_with_start_all_fire_on_first_sight(org, client, zap) -> None:
    opp = org.emu.create(
        "Opportunity", {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    watcher = zap(
        "updated_record", client, start="all", object="Opportunity", watch_fields=["StageName"]
    )
    [fired] = await watcher.poll()
    assert fired["Id"] == opp["Id"] and fired["_previous"] == {"StageName": None}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"object": "Contact", "fields": ["Emial"]}, "'Emial'"),
        ({"object": "Contact", "where": {"Nope__c": "x"}}, "'Nope__c'"),
        ({"object": "Contact", "fields": ["Owner.Nmae"]}, "'Nmae'"),
        ({"object": "Contact", "fields": ["Ownr.Name"]}, "'Ownr'"),
        ({"object": "Contatc"}, "'Contatc'"),
    ],
)
async def test_unknown_names_are_configuration_errors(org, client, zap, params, named) -> None:
    watcher = zap("new_record", client, start="all", **params)
    with pytest.raises(ParamsRejected) as raised:
        await watcher.poll()
    assert named in str(raised.value)


async def test_recent_and_limit_return_newest_first(org, client) -> None:
    for index in range(5):
        org.emu.create(
            "Contact",
            {"LastName": f"N{index}"},
            timestamp=datetime.now(UTC) - timedelta(minutes=10 - index),
        )
    trigger = app.triggers["new_record"]
    ctx = PollContext(
        zap_id="z",
        params=NewRecordParams(object="Contact", fields=["LastName"]),
        connection=client,
        cursor=None,
        start="all",
        state=DictState(),
        log=logging.getLogger("test"),
        limit=3,
    )
    recent = await trigger.recent(ctx)
    assert [r["LastName"] for r in recent] == ["N4", "N3", "N2"]
    pages = [page async for page in trigger.poll(ctx)]
    assert [r["LastName"] for r in pages[0].records] == ["N4", "N3", "N2"]
    assert pages[0].cursor is None


async def test_page_carries_usage_and_watermark(org, client, zap) -> None:
    org.emu.create("Contact", {"LastName": "One"})
    watcher = zap("new_contact", client, start="all")
    captured = []

    trigger = watcher.trigger
    ctx = PollContext("z", watcher.params, client, None, "all", DictState(), logging.getLogger())
    async for page in trigger.poll(ctx):
        captured.append(page)
    [page] = captured
    assert page.usage and page.usage.startswith("api-usage=")
    assert page.watermark is not None
    assert page.cursor["ts"] is not None


async def test_recent_updates_carry_the_watched_fields(org, client) -> None:
    org.emu.create(
        "Opportunity", {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    trigger = app.triggers["updated_record"]
    ctx = PollContext(
        zap_id="z",
        params=trigger.params(object="Opportunity", fields=["Name"], watch_fields=["StageName"]),
        connection=client,
        cursor=None,
        start="all",
        state=DictState(),
        log=logging.getLogger("test"),
        limit=3,
    )
    [record] = await trigger.recent(ctx)
    assert set(record) == set(trigger.fields_for(ctx.params)) - {"_previous.StageName"}
