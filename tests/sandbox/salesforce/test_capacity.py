"""Capacity: 100,000 records, keyset pages of 2,000 over HTTP. Prints timings; asserts only results."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.sandbox.salesforce.helpers import soql
from zaplite.sandbox.salesforce import SalesforceEmulator, format_datetime

FIELDS = "Id, FirstName, LastName, Email, Phone, CreatedDate, SystemModstamp, Lead_Status__c"


def literal(stamp: str) -> str:
    """A returned date-time (``...000+0000``) as a SOQL literal (``...000Z``)."""
    return stamp.replace("+0000", "Z")


@pytest.mark.slow
def test_keyset_pages_over_100k_records(api: httpx.Client, emu: SalesforceEmulator) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for batch in range(50):  # 50 bulk inserts of 2,000 records, each sharing one timestamp
        emu.create_many(
            "Contact",
            [
                {
                    "FirstName": f"F{i}",
                    "LastName": f"L{batch}-{i}",
                    "Email": f"c{batch}.{i}@example.com",
                }
                for i in range(2000)
            ],
            timestamp=base + timedelta(seconds=batch),
        )
    print(f"\ninserted 100,000 contacts in {time.perf_counter() - started:.2f} s")
    middle = emu.store.rows("Contact")[50_000]
    ts, last_id = literal(format_datetime(middle["SystemModstamp"])), middle["Id"]
    where = f"SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > '{last_id}')"

    started = time.perf_counter()
    body = soql(
        api, f"SELECT {FIELDS} FROM Contact WHERE {where} ORDER BY SystemModstamp, Id LIMIT 2000"
    ).json()
    print(f"keyset page with LIMIT 2000 over 100,000: {time.perf_counter() - started:.3f} s")
    assert len(body["records"]) == 2000 and body["done"] is True
    assert body["records"][0]["Id"] > last_id

    started = time.perf_counter()
    body = soql(
        api, f"SELECT {FIELDS} FROM Contact WHERE {where} ORDER BY SystemModstamp, Id"
    ).json()
    first_page = time.perf_counter() - started
    seen = [r["Id"] for r in body["records"]]
    started = time.perf_counter()
    while not body["done"]:
        body = api.get(body["nextRecordsUrl"].removeprefix("/services/data/v64.0")).json()
        seen += [r["Id"] for r in body["records"]]
    print(
        f"keyset without LIMIT: first page {first_page:.3f} s, next {len(seen) // 2000 - 1} pages {time.perf_counter() - started:.3f} s"
    )
    assert len(seen) == 49_999 and len(set(seen)) == 49_999

    started = time.perf_counter()
    count = soql(api, "SELECT COUNT() FROM Contact WHERE Email LIKE '%.1999@example.com'").json()[
        "totalSize"
    ]
    print(f"full scan with LIKE over 100,000: {time.perf_counter() - started:.3f} s")
    assert count == 50
