"""Query paging: batch sizes, ties across page boundaries, snapshots, and query locators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.sandbox.salesforce.helpers import error_of, soql
from zaplite.sandbox.salesforce import SalesforceEmulator, format_datetime

TS = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def all_pages(api: httpx.Client, query: str, batch_size: int | None = None) -> list[dict[str, Any]]:
    """Every page of a query, following nextRecordsUrl."""
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
    first = soql(api, query, batch_size=batch_size)
    assert first.status_code == 200, first.text
    pages = [first.json()]
    while not pages[-1]["done"]:
        url = pages[-1]["nextRecordsUrl"]
        response = api.get(url.removeprefix("/services/data/v64.0"), headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_ties_across_pages_come_back_in_id_order(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    created = emu.create_many(
        "Contact", [{"LastName": f"Bulk {i}"} for i in range(2500)], timestamp=TS
    )
    assert {row["SystemModstamp"] for row in created} == {TS}
    pages = all_pages(
        api,
        "SELECT Id, SystemModstamp FROM Contact WHERE LastName LIKE 'Bulk%' ORDER BY SystemModstamp, Id",
        1000,
    )
    assert [len(page["records"]) for page in pages] == [1000, 1000, 500]
    assert all(page["totalSize"] == 2500 for page in pages)
    assert [page["done"] for page in pages] == [False, False, True]
    assert "nextRecordsUrl" not in pages[-1]
    ids = [r["Id"] for page in pages for r in page["records"]]
    assert ids == sorted(ids) == sorted(row["Id"] for row in created)
    assert {r["SystemModstamp"] for page in pages for r in page["records"]} == {format_datetime(TS)}


def test_keyset_query_over_a_tie_group(api: httpx.Client, emu: SalesforceEmulator) -> None:
    created = emu.create_many(
        "Contact", [{"LastName": f"Bulk {i}"} for i in range(2500)], timestamp=TS
    )
    seen: list[str] = []
    ts, last_id = (
        format_datetime(TS - timedelta(seconds=1)).replace("+0000", "Z"),
        "000000000000000AAA",
    )
    while True:
        where = f"SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > '{last_id}')"
        body = soql(
            api,
            f"SELECT Id, SystemModstamp FROM Contact WHERE {where} ORDER BY SystemModstamp, Id LIMIT 700",
        ).json()
        if not body["records"]:
            break
        seen += [r["Id"] for r in body["records"]]
        last = body["records"][-1]
        ts, last_id = last["SystemModstamp"].replace("+0000", "Z"), last["Id"]
    assert seen == [row["Id"] for row in created]


def test_default_batch_is_2000_and_batch_size_is_clamped(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(2100)])
    body = soql(api, "SELECT Id FROM Contact").json()
    assert (
        len(body["records"]) == 2000 and body["totalSize"] == 2100
    )  # and the integration user? no: Contacts
    assert body["nextRecordsUrl"].startswith("/services/data/v64.0/query/01g")
    assert body["nextRecordsUrl"].endswith("-2000")
    assert len(soql(api, "SELECT Id FROM Contact", batch_size=50).json()["records"]) == 200
    assert len(soql(api, "SELECT Id FROM Contact", batch_size=5000).json()["records"]) == 2000
    assert len(soql(api, "SELECT Id FROM Contact", batch_size=321).json()["records"]) == 321


def test_limit_bigger_than_a_page(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(700)])
    pages = all_pages(api, "SELECT Id FROM Contact ORDER BY Id LIMIT 450", 200)
    assert [len(page["records"]) for page in pages] == [200, 200, 50]
    assert pages[0]["totalSize"] == 450


def test_cursor_is_a_snapshot(api: httpx.Client, emu: SalesforceEmulator) -> None:
    rows = emu.create_many(
        "Contact", [{"LastName": f"N{i}", "Email": "old@example.com"} for i in range(300)]
    )
    first = soql(api, "SELECT Id, Email FROM Contact ORDER BY Id", batch_size=200).json()
    emu.create_many("Contact", [{"LastName": f"Late{i}"} for i in range(50)])
    emu.update("Contact", rows[250]["Id"], {"Email": "new@example.com"})
    emu.delete("Contact", rows[299]["Id"])
    second = api.get(first["nextRecordsUrl"].removeprefix("/services/data/v64.0")).json()
    assert second["done"] is True and second["totalSize"] == 300
    assert [r["Id"] for r in second["records"]] == [row["Id"] for row in rows[200:]]
    assert {r["Email"] for r in second["records"]} == {"old@example.com"}
    again = api.get(first["nextRecordsUrl"].removeprefix("/services/data/v64.0")).json()
    assert again == second  # a locator page may be fetched again


def test_query_all_pages_stay_query_all(api: httpx.Client, emu: SalesforceEmulator) -> None:
    rows = emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(250)])
    emu.delete("Contact", rows[0]["Id"])
    body = soql(api, "SELECT Id FROM Contact", batch_size=200, all_rows=True).json()
    assert body["totalSize"] == 250
    assert "/queryAll/" in body["nextRecordsUrl"]
    assert soql(api, "SELECT Id FROM Contact", batch_size=200).json()["totalSize"] == 249


def test_invalid_query_locator(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(250)])
    next_url = soql(api, "SELECT Id FROM Contact", batch_size=200).json()["nextRecordsUrl"]
    path = next_url.removeprefix("/services/data/v64.0")
    assert api.get(path).status_code == 200
    emu.expire_query_locators()
    status, code, message = error_of(api.get(path))
    assert (status, code, message) == (400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    for bogus in ("/query/01gRO0000000000AAA-200", "/query/garbage", "/query/01gRO0000000000AAA"):
        assert error_of(api.get(bogus))[:2] == (400, "INVALID_QUERY_LOCATOR")


def test_locators_are_bounded(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(250)])
    urls = [
        soql(api, "SELECT Id FROM Contact", batch_size=200)
        .json()["nextRecordsUrl"]
        .removeprefix("/services/data/v64.0")
        for _ in range(emu.cursors.max_open + 1)
    ]
    assert error_of(api.get(urls[0]))[1] == "INVALID_QUERY_LOCATOR"
    assert api.get(urls[-1]).status_code == 200
    assert len(emu.cursors) == emu.cursors.max_open


def test_records_of_a_page_are_projected_from_the_snapshot(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    account = emu.create("Account", {"Name": "Acme"})
    emu.create_many(
        "Contact", [{"LastName": f"N{i}", "AccountId": account["Id"]} for i in range(201)]
    )
    body = soql(api, "SELECT Id, Account.Name FROM Contact", batch_size=200).json()
    assert body["records"][0]["Account"]["Name"] == "Acme"
    rest = api.get(body["nextRecordsUrl"].removeprefix("/services/data/v64.0")).json()
    assert rest["records"][0]["Account"]["attributes"]["type"] == "Account"
