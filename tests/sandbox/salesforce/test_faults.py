"""Fault injection through the Python API and the HTTP admin API."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.salesforce.helpers import CLIENT, VERSION, error_of, get_token, soql
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer


def test_fail_next(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.fail_next(2)
    for _ in range(2):
        response = api.get("/limits")
        assert response.status_code == 503
        assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
        assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert api.get("/limits").status_code == 200


def test_fail_next_with_body_and_path(api: httpx.Client, emu: SalesforceEmulator) -> None:
    body = [
        {"message": "Your query request was running for too long.", "errorCode": "QUERY_TIMEOUT"}
    ]
    emu.fail_next(1, status=500, body=body, path_contains="/query")
    assert api.get("/limits").status_code == 200  # not a query: untouched
    response = soql(api, "SELECT Id FROM Contact")
    assert (response.status_code, response.json()) == (500, body)
    assert soql(api, "SELECT Id FROM Contact").status_code == 200
    emu.fail_next(1, status=429, body={"error": "slow down"}, path_contains="/oauth2/token")
    response = CLIENT.post(
        str(api.base_url).split("/services")[0] + "/services/oauth2/token", data={}
    )
    assert (response.status_code, response.json()) == (429, {"error": "slow down"})


def test_exhaust_quota(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.exhaust_quota()
    response = api.get("/limits")
    assert response.status_code == 403
    assert response.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert response.headers["Sforce-Limit-Info"] == "api-usage=100000/100000"
    emu.set_quota(max=5000, used=0)
    assert api.get("/limits").status_code == 200


def test_quota_counts_requests(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.set_quota(max=3, used=0)
    assert [api.get("/limits").status_code for _ in range(4)] == [200, 200, 200, 403]


def test_latency(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.latency = 0.2
    started = time.monotonic()
    assert api.get("/limits").status_code == 200
    assert time.monotonic() - started >= 0.2  # a lower bound only: sleeping is never shorter
    emu.latency = 0
    assert emu.latency == 0


def test_drop_connection(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.drop_next(1, path_contains="/query")
    with pytest.raises(httpx.RemoteProtocolError):
        soql(api, "SELECT Id FROM Contact")
    assert soql(api, "SELECT Id FROM Contact").status_code == 200


def test_expire_tokens_then_sign_in_again(
    api: httpx.Client, emu: SalesforceEmulator, server: RunningServer
) -> None:
    emu.expire_tokens()
    assert error_of(api.get("/limits"))[:2] == (401, "INVALID_SESSION_ID")
    token = get_token(server, emu)
    response = api.get("/limits", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_requests_are_recorded(api: httpx.Client, emu: SalesforceEmulator) -> None:
    before = emu.request_count
    soql(api, "SELECT Id FROM Contact")
    assert emu.request_count == before + 1
    method, path, query = emu.requests[-1]
    assert (method, path) == ("GET", f"/services/data/v{VERSION}/query")
    assert "q=SELECT" in query


def test_reset(api: httpx.Client, emu: SalesforceEmulator) -> None:
    emu.fail_next(5)
    emu.exhaust_quota()
    emu.latency = 1
    emu.reset_faults()
    assert api.get("/limits").status_code == 200


# ------------------------------------------------------------------ the admin API


@pytest.fixture
def admin(server: RunningServer) -> str:
    return f"{server.url}/__admin"


def test_admin_records(api: httpx.Client, emu: SalesforceEmulator, admin: str) -> None:
    one = CLIENT.post(
        f"{admin}/records/Contact", json={"LastName": "Solo", "Email": "solo@example.com"}
    )
    assert one.status_code == 201
    assert one.json()["Name"] == "Solo" and one.json()["Id"].startswith("003")
    many = CLIENT.post(
        f"{admin}/records/Contact",
        params={"timestamp": "2026-01-08T01:02:03Z"},
        json=[{"LastName": f"Bulk{i}"} for i in range(3)],
    ).json()
    assert many["created"] == 3
    stamps = {emu.get("Contact", i)["SystemModstamp"].isoformat() for i in many["ids"]}  # type: ignore[index]
    assert stamps == {"2026-01-08T01:02:03+00:00"}
    wrapped = CLIENT.post(
        f"{admin}/records/Contact",
        json={"records": [{"LastName": "W"}], "timestamp": "2025-12-31T23:59:59.500Z"},
    ).json()
    assert emu.get("Contact", wrapped["ids"][0])["CreatedDate"].year == 2025  # type: ignore[index]
    patched = CLIENT.patch(
        f"{admin}/records/Contact/{one.json()['Id']}", json={"Phone": "+1415"}
    ).json()
    assert patched["Phone"] == "+1415" and patched["SystemModstamp"].endswith("+0000")
    listed = CLIENT.get(f"{admin}/records/Contact").json()
    assert len(listed) == 5 and "attributes" not in listed[0]
    bad = CLIENT.post(f"{admin}/records/Contact", json={"FirstName": "No last name"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert CLIENT.post(f"{admin}/records/Nope", json={}).status_code == 404
    deleted = CLIENT.delete(f"{admin}/records/Contact/{one.json()['Id']}").json()
    assert deleted["IsDeleted"] is True


def test_admin_faults(api: httpx.Client, emu: SalesforceEmulator, admin: str) -> None:
    assert (
        CLIENT.post(
            f"{admin}/faults", json={"fail_next": {"n": 1, "status": 502, "body": {"x": 1}}}
        ).status_code
        == 200
    )
    assert api.get("/limits").status_code == 502
    CLIENT.post(f"{admin}/faults", json={"expire_tokens": True})
    assert api.get("/limits").status_code == 401
    api.headers["Authorization"] = f"Bearer {get_token_for(api, emu)}"
    CLIENT.post(f"{admin}/faults", json={"exhaust_quota": True})
    assert api.get("/limits").status_code == 403
    CLIENT.post(f"{admin}/faults", json={"reset": True})
    assert api.get("/limits").status_code == 200
    CLIENT.post(f"{admin}/faults", json={"latency": 0.05})
    assert emu.latency == 0.05
    CLIENT.post(f"{admin}/faults", json={"latency": 0, "set_quota": {"max": 10, "used": 10}})
    assert api.get("/limits").status_code == 403
    CLIENT.post(f"{admin}/faults", json={"set_quota": {"max": 100}})
    emu.create_many("Contact", [{"LastName": f"N{i}"} for i in range(201)])
    next_url = soql(api, "SELECT Id FROM Contact", batch_size=200).json()["nextRecordsUrl"]
    CLIENT.post(f"{admin}/faults", json={"expire_query_locators": True})
    assert (
        error_of(api.get(next_url.removeprefix(f"/services/data/v{VERSION}")))[1]
        == "INVALID_QUERY_LOCATOR"
    )
    CLIENT.post(f"{admin}/faults", json={"drop_next": {"n": 1}})
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/limits")
    stats = CLIENT.get(f"{admin}/stats").json()
    assert stats["request_count"] == emu.request_count and stats["records"]["Contact"] == 201


def get_token_for(api: httpx.Client, emu: SalesforceEmulator) -> str:
    base = str(api.base_url).split("/services")[0]
    creds = emu.credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": creds.client_id,
        "refresh_token": creds.refresh_token,
    }
    return str(CLIENT.post(f"{base}/services/oauth2/token", data=form).json()["access_token"])


def test_admin_schema_seed_and_credentials(
    api: httpx.Client, emu: SalesforceEmulator, admin: str
) -> None:
    created = CLIENT.post(
        f"{admin}/objects", json={"name": "Thing__c", "fields": {"Size__c": "double"}}
    )
    assert created.status_code == 201 and created.json()["keyPrefix"].startswith("a0")
    CLIENT.post(f"{admin}/fields", json={"object": "Contact", "name": "Score__c", "type": "double"})
    assert emu.schema.require("Contact").field("score__c") is not None
    counts = CLIENT.post(f"{admin}/seed").json()
    assert counts["Contact"] >= 25
    creds = CLIENT.get(f"{admin}/credentials").json()
    assert (
        creds["client_id"] == emu.credentials.client_id
        and "BEGIN PRIVATE KEY" in creds["private_key_pem"]
    )
    before = emu.request_count
    CLIENT.get(f"{admin}/stats")
    assert emu.request_count == before  # admin calls are not counted
