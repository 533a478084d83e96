"""Bulk API 2.0 query jobs: states, CSV results paged by ``Sforce-Locator``, expiry, limits."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest

from tests.sandbox.salesforce.helpers import error_of
from tests.support.clock import Clock
from zaplite.sandbox.salesforce import SalesforceEmulator


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> SalesforceEmulator:
    """An empty org whose jobs take their time on the test's clock, not on a loaded machine's."""
    return SalesforceEmulator(clock=clock)


def _create(api: httpx.Client, query: str, operation: str = "query") -> httpx.Response:
    return api.post("/jobs/query", json={"operation": operation, "query": query})


def _rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


def test_a_job_pages_its_results_as_csv(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create_many("Contact", [{"LastName": f"C{i:03d}", "Email": f"c{i}@x.io"} for i in range(5)])
    before = emu.api_used
    created = _create(api, "SELECT Id, LastName, Email FROM Contact")
    assert created.status_code == 200, created.text
    job = created.json()
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    assert job["contentType"] == "CSV" and job["operation"] == "query"
    info = api.get(f"/jobs/query/{job['id']}").json()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 5

    first = api.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 2})
    assert first.headers["content-type"].startswith("text/csv")
    assert first.headers["Sforce-NumberOfRecords"] == "2"
    assert first.text.splitlines()[0] == '"Id","LastName","Email"'
    names = [row[1] for row in _rows(first)[1:]]
    locator = first.headers["Sforce-Locator"]
    while locator != "null":
        page = api.get(
            f"/jobs/query/{job['id']}/results", params={"maxRecords": 2, "locator": locator}
        )
        assert _rows(page)[0] == ["Id", "LastName", "Email"]
        names += [row[1] for row in _rows(page)[1:]]
        locator = page.headers["Sforce-Locator"]
    assert sorted(names) == [f"C{i:03d}" for i in range(5)]
    # Each request of a job is an API call: create, status, and three result pages.
    assert emu.api_used == before + 5


def test_values_nulls_and_relationship_columns(api: httpx.Client, emu: SalesforceEmulator) -> None:
    account = emu.create("Account", {"Name": 'Acme, "Inc"'})
    stamp = datetime(2026, 5, 8, 21, 20, 0, 123000, tzinfo=UTC)
    emu.create(
        "Opportunity",
        {
            "Name": "Deal\nTwo lines",
            "StageName": "Closed Won",
            "CloseDate": "2026-05-08",
            "Amount": 12000,
            "AccountId": account["Id"],
        },
        timestamp=stamp,
    )
    emu.create(
        "Opportunity", {"Name": "Lonely", "StageName": "Prospecting", "CloseDate": "2026-06-01"}
    )
    job = _create(
        api,
        "SELECT Name, Amount, IsWon, CloseDate, CreatedDate, Account.Name FROM Opportunity",
    ).json()
    rows = _rows(api.get(f"/jobs/query/{job['id']}/results"))
    assert rows[0] == ["Name", "Amount", "IsWon", "CloseDate", "CreatedDate", "Account.Name"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Deal\nTwo lines"] == [
        "Deal\nTwo lines",
        "12000.0",
        "true",
        "2026-05-08",
        "2026-05-08T21:20:00.123Z",
        'Acme, "Inc"',
    ]
    lonely = by_name["Lonely"]
    assert lonely[1] == "" and lonely[2] == "false" and lonely[5] == ""


def test_query_all_sees_deleted_records(api: httpx.Client, emu: SalesforceEmulator) -> None:
    gone = emu.create("Contact", {"LastName": "Gone"})
    emu.create("Contact", {"LastName": "Here"})
    emu.delete("Contact", gone["Id"])
    live = _create(api, "SELECT LastName FROM Contact").json()
    every = _create(api, "SELECT LastName, IsDeleted FROM Contact", "queryAll").json()
    assert [r[0] for r in _rows(api.get(f"/jobs/query/{live['id']}/results"))[1:]] == ["Here"]
    all_rows = _rows(api.get(f"/jobs/query/{every['id']}/results"))[1:]
    assert sorted(all_rows) == [["Gone", "true"], ["Here", "false"]]


def test_a_job_takes_its_time(api: httpx.Client, emu: SalesforceEmulator, clock: Clock) -> None:
    emu.bulk_processing_seconds = 0.4
    emu.create("Contact", {"LastName": "Early"})
    job = _create(api, "SELECT LastName FROM Contact").json()
    assert api.get(f"/jobs/query/{job['id']}").json()["state"] == "UploadComplete"
    status, code, _ = error_of(api.get(f"/jobs/query/{job['id']}/results"))
    assert (status, code) == (400, "INVALIDJOBSTATE")
    clock.now += 0.25
    assert api.get(f"/jobs/query/{job['id']}").json()["state"] == "InProgress"
    clock.now += 0.2
    emu.create("Contact", {"LastName": "Late"})  # before completion: in the snapshot
    assert api.get(f"/jobs/query/{job['id']}").json()["state"] == "JobComplete"
    emu.create("Contact", {"LastName": "After"})
    names = [r[0] for r in _rows(api.get(f"/jobs/query/{job['id']}/results"))[1:]]
    assert sorted(names) == ["Early", "Late"]


def test_refused_queries_aborts_deletes_and_expiry(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    status, code, message = error_of(_create(api, "SELECT COUNT() FROM Contact"))
    assert (status, code) == (400, "INVALIDJOB") and "COUNT()" in message
    status, code, _ = error_of(_create(api, "SELECT Id FROM Contact OFFSET 5"))
    assert (status, code) == (400, "INVALIDJOB")
    status, code, _ = error_of(_create(api, "SELECT Nope__c FROM Contact"))
    assert (status, code) == (400, "INVALID_FIELD")
    status, code, _ = error_of(_create(api, "SELECT Id FROM Contact", operation="insert"))
    assert (status, code) == (400, "INVALIDJOB")

    emu.bulk_processing_seconds = 60
    slow = _create(api, "SELECT Id FROM Contact").json()
    aborted = api.patch(f"/jobs/query/{slow['id']}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    emu.bulk_processing_seconds = 0
    done = _create(api, "SELECT Id FROM Contact").json()
    assert api.delete(f"/jobs/query/{done['id']}").status_code == 204
    assert error_of(api.get(f"/jobs/query/{done['id']}"))[:2] == (404, "NOT_FOUND")
    kept = _create(api, "SELECT Id FROM Contact").json()
    emu.expire_bulk_jobs()
    assert error_of(api.get(f"/jobs/query/{kept['id']}/results"))[:2] == (404, "NOT_FOUND")
