"""sObject Collections (``/composite/sobjects``) and the writes a person tries against the emulator."""

from __future__ import annotations

import httpx

from tests.sandbox.salesforce.helpers import VERSION
from zaplite.sandbox.salesforce import SalesforceEmulator

BASE = f"/services/data/v{VERSION}"


def _contact(**values: object) -> dict[str, object]:
    return {"attributes": {"type": "Contact"}, **values}


def test_create_several_records_in_one_call(api: httpx.Client, emu: SalesforceEmulator) -> None:
    before = emu.api_used
    response = api.post(
        "/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                _contact(LastName="Lovelace", Email="ada@example.com"),
                _contact(Email="nameless@example.com"),
                {"attributes": {"type": "Lead"}, "LastName": "Hopper", "Company": "Navy"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert emu.api_used == before + 1
    first, second, third = response.json()
    assert first["success"] is True and first["errors"] == []
    assert second == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    assert third["success"] is True
    assert emu.get("Contact", first["id"])["Email"] == "ada@example.com"
    assert emu.get("Lead", third["id"])["Company"] == "Navy"
    assert [c["LastName"] for c in emu.records("Contact")] == ["Lovelace"]


def test_all_or_none_writes_nothing_when_one_record_is_refused(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    response = api.post(
        "/composite/sobjects",
        json={"allOrNone": True, "records": [_contact(LastName="Kept?"), _contact(Nope=1)]},
    )
    assert response.status_code == 200, response.text
    rolled_back, refused = response.json()
    assert rolled_back["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert refused["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert emu.records("Contact") == []


def test_update_read_and_delete_in_collections(api: httpx.Client, emu: SalesforceEmulator) -> None:
    ada = emu.create("Contact", {"LastName": "Lovelace"})
    deal = emu.create(
        "Opportunity", {"Name": "Big", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    updated = api.patch(
        "/composite/sobjects",
        json={
            "records": [
                _contact(id=ada["Id"], Email="ada@example.com"),
                {
                    "attributes": {"type": "Opportunity"},
                    "id": deal["Id"],
                    "StageName": "Closed Won",
                },
            ]
        },
    )
    assert updated.status_code == 200, updated.text
    assert [r["success"] for r in updated.json()] == [True, True]
    assert emu.get("Opportunity", deal["Id"])["IsWon"] is True
    read = api.get(
        "/composite/sobjects/Contact",
        params={"ids": f"{ada['Id']},003000000000000AAA", "fields": "Email"},
    )
    assert read.status_code == 200, read.text
    found, missing = read.json()
    assert found["Email"] == "ada@example.com" and found["Id"] == ada["Id"] and missing is None
    deleted = api.delete("/composite/sobjects", params={"ids": ada["Id"]})
    assert deleted.json() == [{"id": ada["Id"], "success": True, "errors": []}]
    assert emu.get("Contact", ada["Id"])["IsDeleted"] is True


def test_more_than_200_records_is_refused_as_a_whole(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    response = api.post(
        "/composite/sobjects", json={"records": [_contact(LastName=str(i)) for i in range(201)]}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert emu.records("Contact") == []


def test_single_record_create_and_update_as_a_person_tries_them(
    api: httpx.Client, emu: SalesforceEmulator
) -> None:
    created = api.post(
        "/sobjects/Contact", json={"LastName": "Turing", "Email": "alan@example.com"}
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert created.json() == {"id": record_id, "success": True, "errors": []}
    patched = api.patch(f"/sobjects/Contact/{record_id}", json={"Phone": "+441234567890"})
    assert patched.status_code == 204
    assert emu.get("Contact", record_id)["Phone"] == "+441234567890"
    # And the same through Composite, the second subrequest using the first's id.
    response = api.post(
        "/composite",
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{BASE}/sobjects/Contact",
                    "referenceId": "c",
                    "body": {"LastName": "Hopper"},
                },
                {
                    "method": "PATCH",
                    "url": f"{BASE}/sobjects/Contact/@{{c.id}}",
                    "referenceId": "u",
                    "body": {"Email": "grace@example.com"},
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 204]
    assert emu.get("Contact", answers[0]["body"]["id"])["Email"] == "grace@example.com"
