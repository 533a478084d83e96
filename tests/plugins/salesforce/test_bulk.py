"""A large backlog read with a Bulk API 2.0 query job, resumed from its locator, then REST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from zaplite_salesforce import bulk
from zaplite_salesforce.bulk import typed_record

pytestmark = pytest.mark.anyio

BACKLOG = 5_000


@pytest.fixture
async def bulky(org):
    """A client whose first polls read a backlog above 1,000 records with Bulk API 2.0."""
    client = org.client(bulk_threshold=1_000)
    try:
        yield client
    finally:
        await client.aclose()


def _load(org, n: int = BACKLOG) -> list[str]:
    if org.emu.schema.get("Contact").field("VIP__c") is None:
        org.emu.add_field("Contact", "VIP__c", "boolean")
        org.emu.add_field("Contact", "Score__c", "double")
    stamp = datetime.now(UTC) - timedelta(minutes=1)
    rows = [
        {
            "LastName": f"Bulk {i}",
            "Email": f"b{i}@example.com",
            "VIP__c": i % 2 == 0,
            "Score__c": i / 4 if i % 3 else None,
            "Birthdate": "1990-01-0" + str(1 + i % 9),
        }
        for i in range(n)
    ]
    return [r["Id"] for r in org.emu.create_many("Contact", rows, timestamp=stamp)]


async def test_a_backlog_over_the_threshold_is_read_by_one_query_job(org, bulky, zap) -> None:
    ids = _load(org)
    watcher = zap("new_contact", bulky, start="all", fields=["LastName", "Email", "Owner.Name"])
    used = org.emu.api_used
    delivered = await watcher.poll()
    assert sorted(r["Id"] for r in delivered) == sorted(ids)
    assert watcher.duplicates == 0
    assert org.count("/jobs/query") >= 3, "created, looked at, results"
    assert org.count("/v64.0/query") == 1, "the count; no REST page of the backlog"
    assert org.emu.api_used - used <= 6, "a count, the job, its state, one results page"
    assert "bulk" not in watcher.cursor, "handed over to REST"
    # Then REST, from the job's last record with the overlap: nothing again, one call.
    new = org.emu.create("Contact", {"LastName": "After"})
    assert [r["Id"] for r in await watcher.poll()] == [new["Id"]]
    assert await watcher.poll() == []


async def test_a_small_backlog_stays_on_rest(org, bulky, zap) -> None:
    _load(org, 500)
    watcher = zap("new_contact", bulky, start="all", fields=["LastName"])
    assert len(await watcher.poll()) == 500
    assert org.count("/jobs/query") == 0


async def test_csv_values_are_typed_as_rest_gives_them(org, bulky, client, zap) -> None:
    opp = org.emu.create(
        "Opportunity",
        {"Name": "Acme", "StageName": "Prospecting", "Amount": 1200, "CloseDate": "2026-12-31"},
    )
    _load(org, 1_500)
    fields = ["LastName", "VIP__c", "Score__c", "Birthdate", "Owner.Name", "CreatedDate", "Phone"]
    bulk = zap("new_contact", bulky, start="all", fields=fields)
    rest = zap("new_contact", client, start="all", fields=fields)
    from_bulk = {r["Id"]: r for r in await bulk.poll()}
    from_rest = {r["Id"]: r for r in await rest.poll()}
    assert org.count("/jobs/query") > 0
    assert from_bulk == from_rest
    sample = next(iter(from_bulk.values()))
    assert isinstance(sample["VIP__c"], bool) and sample["Phone"] is None
    assert any(isinstance(r["Score__c"], float) for r in from_bulk.values())
    assert any(r["Score__c"] is None for r in from_bulk.values())
    assert sample["Owner"] == {"Name": "Integration User"}
    # numbers and dates, on another object
    types = {"Amount": "currency", "CloseDate": "date", "IsWon": "boolean", "Owner.Name": "string"}
    row = {"Amount": "1200.0", "CloseDate": "2026-12-31", "IsWon": "false", "Owner.Name": ""}
    assert typed_record(row, types) == {
        "Amount": 1200.0,
        "CloseDate": "2026-12-31",
        "IsWon": False,
        "Owner": None,
    }
    assert opp["Amount"] == 1200


async def test_a_restart_resumes_from_the_saved_locator(org, zap, monkeypatch) -> None:
    monkeypatch.setattr(bulk, "CHECKPOINT", 500)
    client = org.client(bulk_threshold=1_000)
    try:
        ids = _load(org)
        watcher = zap("new_contact", client, start="all", fields=["LastName"])
        await watcher.poll(max_pages=3)  # the job's checkpoint, then two pages: a crash
        assert watcher.cursor["bulk"]["job"]
        created = org.count("/jobs/query") - org.count("/jobs/query/")
        for _ in range(3):
            await watcher.poll()
        assert sorted(r["Id"] for r in watcher.delivered) == sorted(ids)
        assert watcher.duplicates == 0, "the results page read again skips what was delivered"
        assert org.count("/jobs/query") - org.count("/jobs/query/") == created == 1
    finally:
        await client.aclose()


async def test_a_job_salesforce_no_longer_has_is_replaced_from_the_checkpoint(
    org, zap, monkeypatch
) -> None:
    monkeypatch.setattr(bulk, "CHECKPOINT", 500)
    client = org.client(bulk_threshold=1_000)
    try:
        ids = _load(org)
        watcher = zap("new_contact", client, start="all", fields=["LastName"])
        await watcher.poll(max_pages=4)
        org.emu.expire_bulk_jobs()
        for _ in range(3):
            await watcher.poll()
        assert sorted(r["Id"] for r in watcher.delivered) == sorted(ids)
        assert watcher.duplicates == 0
        assert org.count("/jobs/query") - org.count("/jobs/query/") == 2, "a second job"
    finally:
        await client.aclose()
