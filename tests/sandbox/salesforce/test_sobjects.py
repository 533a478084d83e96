"""sObject endpoints and the Python API: describe, create, update, read, delete, timestamps, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tests.sandbox.salesforce.helpers import error_of, records
from zaplite.sandbox.salesforce import RecordError, SalesforceEmulator
from zaplite.sandbox.salesforce.data import parse_datetime
from zaplite.sandbox.salesforce.ids import is_valid_id, to_18


def test_describe(api: httpx.Client) -> None:
    body = api.get("/sobjects/Contact/describe").json()
    assert (body["name"], body["label"], body["keyPrefix"], body["queryable"]) == (
        "Contact",
        "Contact",
        "003",
        True,
    )
    fields = {f["name"]: f for f in body["fields"]}
    assert {
        "Id",
        "FirstName",
        "LastName",
        "Name",
        "Email",
        "Phone",
        "AccountId",
        "OwnerId",
        "LeadSource",
    } <= set(fields)
    assert {
        "Lead_Status__c",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
        "IsDeleted",
    } <= set(fields)
    assert fields["Email"]["type"] == "email" and fields["Email"]["filterable"] is True
    assert (
        fields["Lead_Status__c"]["custom"] is True
        and fields["Lead_Status__c"]["type"] == "picklist"
    )
    assert fields["Lead_Status__c"]["label"] == "Lead Status"
    assert (
        fields["AccountId"]["referenceTo"] == ["Account"]
        and fields["AccountId"]["relationshipName"] == "Account"
    )
    assert (
        fields["SystemModstamp"]["type"] == "datetime"
        and fields["SystemModstamp"]["createable"] is False
    )
    assert fields["Description"]["filterable"] is False
    prefixes = {
        name: api.get(f"/sobjects/{name}/describe").json()["keyPrefix"]
        for name in ("Lead", "Opportunity", "Account", "User")
    }
    assert prefixes == {"Lead": "00Q", "Opportunity": "006", "Account": "001", "User": "005"}
    opportunity = {
        f["name"]: f["type"] for f in api.get("/sobjects/opportunity/describe").json()["fields"]
    }
    assert (
        opportunity["CloseDate"] == "date"
        and opportunity["Amount"] == "currency"
        and opportunity["IsWon"] == "boolean"
    )
    assert error_of(api.get("/sobjects/Nope__c/describe"))[:2] == (404, "NOT_FOUND")
    names = [o["name"] for o in api.get("/sobjects").json()["sobjects"]]
    assert {"Contact", "Lead", "Opportunity", "Account", "User"} <= set(names)


def test_custom_objects_and_fields(api: httpx.Client, emu: SalesforceEmulator) -> None:
    obj = emu.define_object(
        "Invoice__c",
        {"Amount__c": "currency", "Paid__c": "boolean", "Account__c": "reference:Account"},
    )
    assert obj.key_prefix.startswith("a0") and len(obj.key_prefix) == 3
    emu.add_field("Lead", "Score__c", "double")
    account = emu.create("Account", {"Name": "Acme"})
    invoice = emu.create(
        "Invoice__c", {"Name": "INV-1", "Amount__c": 12.5, "Account__c": account["Id"]}
    )
    assert invoice["Id"].startswith(obj.key_prefix) and invoice["Paid__c"] is False
    (row,) = records(
        api, "SELECT Name, Amount__c, Paid__c, Account__r.Name FROM Invoice__c WHERE Amount__c > 10"
    )
    assert row["Amount__c"] == 12.5 and row["Account__r"]["Name"] == "Acme"
    fields = {f["name"] for f in api.get("/sobjects/Lead/describe").json()["fields"]}
    assert "Score__c" in fields
    with pytest.raises(ValueError):
        emu.define_object("NoSuffix", {})
    with pytest.raises(ValueError):
        emu.add_field("Contact", "Plain", "string")


def test_create_over_rest(api: httpx.Client, emu: SalesforceEmulator) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    response = api.post(
        "/sobjects/Contact/",
        json={"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert body["id"].startswith("003") and len(body["id"]) == 18 and is_valid_id(body["id"])
    stored = emu.get("Contact", body["id"])
    assert stored is not None and stored["Name"] == "Ada Lovelace"
    assert stored["CreatedDate"] == stored["LastModifiedDate"] == stored["SystemModstamp"] >= before
    assert stored["CreatedDate"].microsecond % 1000 == 0
    assert stored["OwnerId"] == emu.user_id and stored["IsDeleted"] is False


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {"FirstName": "No last name"},
            400,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
        ),
        (
            {"LastName": "X", "Nope": 1},
            400,
            "INVALID_FIELD",
            "No such column 'Nope' on sobject of type Contact",
        ),
        (
            {"LastName": "X", "Name": "Y"},
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: Name.",
        ),
        (
            {"LastName": "X", "AccountId": "not-an-id"},
            400,
            "MALFORMED_ID",
            "id value of incorrect type",
        ),
    ],
)
def test_create_errors(
    api: httpx.Client, body: dict[str, object], status: int, code: str, message: str
) -> None:
    got = error_of(api.post("/sobjects/Contact", json=body))
    assert got[:2] == (status, code)
    assert message in got[2]


def test_create_errors_other(api: httpx.Client) -> None:
    assert error_of(api.post("/sobjects/Nope/", json={}))[:2] == (404, "NOT_FOUND")
    response = api.post(
        "/sobjects/Contact", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert error_of(response)[:2] == (400, "JSON_PARSER_ERROR")
    missing = api.post("/sobjects/Opportunity", json={"Name": "Deal"}).json()[0]
    assert missing["errorCode"] == "REQUIRED_FIELD_MISSING" and missing["fields"] == [
        "StageName",
        "CloseDate",
    ]


def test_update_read_and_delete_over_rest(api: httpx.Client, emu: SalesforceEmulator) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC)
    contact = emu.create("Contact", {"LastName": "Hopper", "FirstName": "Grace"}, timestamp=old)
    response = api.patch(
        f"/sobjects/Contact/{contact['Id']}", json={"Phone": "+14155550100", "FirstName": "G."}
    )
    assert response.status_code == 204 and response.content == b""
    stored = emu.get("Contact", contact["Id"])
    assert stored is not None
    assert stored["Phone"] == "+14155550100" and stored["Name"] == "G. Hopper"
    assert stored["CreatedDate"] == old < stored["LastModifiedDate"] == stored["SystemModstamp"]
    body = api.get(f"/sobjects/Contact/{contact['Id']}").json()
    assert body["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v64.0/sobjects/Contact/{contact['Id']}",
    }
    assert body["CreatedDate"] == "2026-01-01T00:00:00.000+0000" and body["Lead_Status__c"] is None
    fields = api.get(
        f"/sobjects/Contact/{contact['Id'][:15]}", params={"fields": "Name,Phone"}
    ).json()
    assert list(fields) == ["attributes", "Name", "Phone"]
    assert error_of(
        api.patch(
            f"/sobjects/Contact/{contact['Id']}", json={"SystemModstamp": "2020-01-01T00:00:00Z"}
        )
    )[1] == ("INVALID_FIELD_FOR_INSERT_UPDATE")
    assert api.delete(f"/sobjects/Contact/{contact['Id']}").status_code == 204
    assert error_of(api.get(f"/sobjects/Contact/{contact['Id']}"))[:2] == (404, "NOT_FOUND")
    assert error_of(api.patch(f"/sobjects/Contact/{contact['Id']}", json={"Phone": "1"}))[:2] == (
        404,
        "ENTITY_IS_DELETED",
    )
    assert error_of(api.get("/sobjects/Contact/003RO0000000000AAA"))[:2] == (404, "NOT_FOUND")


def test_python_api_timestamps(emu: SalesforceEmulator) -> None:
    bulk_ts = datetime(2026, 5, 8, 21, 20, tzinfo=UTC)
    rows = emu.create_many(
        "Contact", [{"LastName": f"Bulk{i}"} for i in range(5)], timestamp=bulk_ts
    )
    assert {row["SystemModstamp"] for row in rows} == {bulk_ts}
    assert [row["Id"] for row in rows] == sorted(row["Id"] for row in rows)
    shared = emu.create_many("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    assert shared[0]["SystemModstamp"] == shared[1]["SystemModstamp"]
    late = emu.create("Contact", {"LastName": "Late"}, timestamp=bulk_ts - timedelta(hours=1))
    assert late["CreatedDate"] == bulk_ts - timedelta(hours=1) and late["Id"] > rows[-1]["Id"]
    updated = emu.update("Contact", rows[0]["Id"], {"Phone": "+14155550100"})
    assert (
        updated["SystemModstamp"] > bulk_ts
        and updated["LastModifiedDate"] == updated["SystemModstamp"]
    )
    assert updated["CreatedDate"] == bulk_ts
    assert emu.get("Contact", rows[0]["Id"])["Phone"] == "+14155550100"  # type: ignore[index]
    naive = emu.create(
        "Contact", {"LastName": "Naive"}, timestamp=datetime(2026, 1, 1, 12, 0, 0, 999999)
    )
    assert naive["CreatedDate"] == datetime(2026, 1, 1, 12, 0, 0, 999000, tzinfo=UTC)
    assert len(emu.records("Contact")) == 9
    with pytest.raises(RecordError):
        emu.create("Contact", {"FirstName": "No last name"})
    with pytest.raises(RecordError):
        emu.create("Contact", {"LastName": "X", "Unknown__c": 1})


def test_opportunity_derived_fields(emu: SalesforceEmulator) -> None:
    opp = emu.create(
        "Opportunity",
        {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-06-30", "Amount": 100},
    )
    assert opp["CloseDate"] == date(2026, 6, 30) and opp["Probability"] == 10.0
    assert (opp["IsClosed"], opp["IsWon"]) == (False, False)
    won = emu.update("Opportunity", opp["Id"], {"StageName": "Closed Won"})
    assert (won["IsClosed"], won["IsWon"], won["Probability"]) == (True, True, 100.0)


def test_ids(emu: SalesforceEmulator) -> None:
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # a documented example
    lead = emu.create("Lead", {"LastName": "L", "Company": "C"})
    assert lead["Id"].startswith("00Q") and lead["Status"] == "Open - Not Contacted"
    assert emu.get("Lead", lead["Id"][:15]) == lead
    assert not is_valid_id("001A0000006Vm9rIAD")


def test_limits_and_limit_header(api: httpx.Client, emu: SalesforceEmulator) -> None:
    first = api.get("/limits")
    used = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    second = api.get("/sobjects")
    assert second.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/100000"
    assert first.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 100000 - used}
    emu.set_quota(max=5000)
    assert api.get("/limits").headers["Sforce-Limit-Info"] == f"api-usage={used + 2}/5000"
    assert "sforce-limit-info" in api.get("/query", params={"q": "SELECT Id FROM Nope"}).headers
    assert parse_datetime("2026-05-08T21:20:00.000+0000") == datetime(
        2026, 5, 8, 21, 20, tzinfo=UTC
    )


def test_unknown_paths_and_versions(api: httpx.Client, server: object) -> None:
    assert error_of(api.get("/nothing-here"))[:2] == (404, "NOT_FOUND")
    response = api.get(str(api.base_url).replace("v64.0", "v99.0") + "/limits")
    assert error_of(response)[:2] == (404, "NOT_FOUND")
    assert set(api.get("").json()) >= {"sobjects", "query", "queryAll", "limits"}


def test_updated_and_deleted_endpoints(api: httpx.Client, emu: SalesforceEmulator) -> None:
    ts = datetime(2026, 2, 1, tzinfo=UTC)
    keep, gone = emu.create_many(
        "Contact", [{"LastName": "Keep"}, {"LastName": "Gone"}], timestamp=ts
    )
    emu.delete("Contact", gone["Id"])
    window = {"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}
    assert api.get("/sobjects/Contact/updated/", params=window).json()["ids"] == [keep["Id"]]
    now_window = {
        "start": "2026-01-01T00:00:00Z",
        "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    deleted = api.get("/sobjects/Contact/deleted/", params=now_window).json()["deletedRecords"]
    assert [d["id"] for d in deleted] == [gone["Id"]]


def test_python_api_records_have_every_field(emu: SalesforceEmulator) -> None:
    contact = emu.create("Contact", {"LastName": "Sparse"})
    fields = set(emu.schema.require("Contact").fields)
    assert set(contact) == fields and contact["Phone"] is None
    assert set(emu.get("Contact", contact["Id"]) or {}) == fields
    assert all(set(row) == fields for row in emu.records("Contact"))
    emu.add_field("Contact", "Later__c", "string")
    assert emu.get("Contact", contact["Id"])["Later__c"] is None  # type: ignore[index]


def test_wrong_method(api: httpx.Client) -> None:
    assert error_of(api.post("/limits"))[:2] == (405, "METHOD_NOT_ALLOWED")
