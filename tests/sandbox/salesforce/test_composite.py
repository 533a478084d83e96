"""``POST /composite``: subrequests answered one by one, and one API call for all of them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.salesforce.helpers import VERSION, error_of
from zaplite.sandbox.salesforce import SalesforceEmulator

BASE = f"/services/data/v{VERSION}"


def _query(reference: str, soql: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"{BASE}/query?q={soql}", "referenceId": reference}


def _composite(api: httpx.Client, subrequests: list[dict[str, Any]], **extra: Any) -> Any:
    return api.post("/composite", json={"compositeRequest": subrequests, **extra})


def test_subrequests_are_answered_in_order_and_count_as_one_call(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    emu.create_many("Contact", [{"LastName": f"C{i}"} for i in range(3)])
    emu.create("Lead", {"LastName": "L", "Company": "Acme"})
    before = emu.api_used
    response = _composite(
        api,
        [
            _query("contacts", "SELECT Id, LastName FROM Contact ORDER BY LastName"),
            _query("count", "SELECT COUNT() FROM Lead"),
            {"method": "GET", "url": f"{BASE}/sobjects/Contact/describe", "referenceId": "d"},
        ],
    )
    assert response.status_code == 200, response.text
    assert emu.api_used == before + 1, "a composite call is one API call"
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={emu.api_used}/{emu.api_max}"
    answers = response.json()["compositeResponse"]
    assert [a["referenceId"] for a in answers] == ["contacts", "count", "d"]
    assert [a["httpStatusCode"] for a in answers] == [200, 200, 200]
    assert [r["LastName"] for r in answers[0]["body"]["records"]] == ["C0", "C1", "C2"]
    assert answers[1]["body"] == {"totalSize": 1, "done": True, "records": []}
    assert answers[2]["body"]["name"] == "Contact"


def test_a_failed_subrequest_fails_alone(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create("Contact", {"LastName": "Kept"})
    answers = _composite(
        api,
        [
            _query("bad", "SELECT Nope__c FROM Contact"),
            _query("good", "SELECT LastName FROM Contact"),
        ],
    ).json()["compositeResponse"]
    assert answers[0]["httpStatusCode"] == 400
    assert answers[0]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert answers[1]["httpStatusCode"] == 200
    assert answers[1]["body"]["records"][0]["LastName"] == "Kept"


def test_all_or_none_halts_after_a_failure(api: httpx.Client) -> None:
    answers = _composite(
        api,
        [_query("bad", "SELECT Nope__c FROM Contact"), _query("next", "SELECT Id FROM Contact")],
        allOrNone=True,
    ).json()["compositeResponse"]
    assert answers[1]["httpStatusCode"] == 400
    assert answers[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_a_fault_armed_for_a_path_answers_the_matching_subrequest(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    emu.fail_next(1, status=503, path_contains="/queryAll")
    answers = _composite(
        api,
        [
            {
                "method": "GET",
                "url": f"{BASE}/queryAll?q=SELECT Id FROM Contact",
                "referenceId": "a",
            },
            _query("b", "SELECT Id FROM Contact"),
        ],
    ).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [503, 200]
    assert answers[0]["body"][0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_next_pages_and_references(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.create_many("Contact", [{"LastName": f"P{i:04d}"} for i in range(250)])
    small = {"Sforce-Query-Options": "batchSize=200"}
    first = api.post(
        "/composite",
        json={
            "compositeRequest": [_query("first", "SELECT LastName FROM Contact ORDER BY LastName")]
        },
        headers=small,
    ).json()["compositeResponse"][0]["body"]
    assert len(first["records"]) == 200 and first["done"] is False
    answers = api.post(
        "/composite",
        json={
            "compositeRequest": [
                {"method": "GET", "url": first["nextRecordsUrl"], "referenceId": "more"},
                _query("page", "SELECT Id, LastName FROM Contact ORDER BY LastName LIMIT 1"),
                {
                    "method": "GET",
                    "url": f"{BASE}/sobjects/Contact/@{{page.records[0].Id}}",
                    "referenceId": "record",
                },
            ]
        },
        headers=small,
    ).json()["compositeResponse"]
    assert [r["LastName"] for r in answers[0]["body"]["records"]][:1] == ["P0200"]
    assert answers[0]["body"]["done"] is True
    assert answers[2]["httpStatusCode"] == 200
    assert answers[2]["body"]["LastName"] == "P0000"


def test_limits_of_subrequests_and_query_operations(api: httpx.Client) -> None:
    too_many = [
        {"method": "GET", "url": f"{BASE}/sobjects/Contact/describe", "referenceId": f"r{i}"}
        for i in range(26)
    ]
    status, code, message = error_of(_composite(api, too_many))
    assert (status, code) == (400, "LIMIT_EXCEEDED") and "25" in message
    six_queries = [_query(f"q{i}", "SELECT Id FROM Contact") for i in range(6)]
    status, code, message = error_of(_composite(api, six_queries))
    assert (status, code) == (400, "LIMIT_EXCEEDED") and "5 query operations" in message
    five = _composite(api, six_queries[:5])
    assert five.status_code == 200


def test_the_quota_refuses_the_whole_call(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.exhaust_quota()
    status, code, _ = error_of(_composite(api, [_query("q", "SELECT Id FROM Contact")]))
    assert (status, code) == (403, "REQUEST_LIMIT_EXCEEDED")
