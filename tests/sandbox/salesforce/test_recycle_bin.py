"""Delete, undelete and ``queryAll``: the recycle bin over the REST and admin APIs."""

from __future__ import annotations

import httpx

from tests.sandbox.salesforce.helpers import records


def test_deleted_records_are_seen_by_queryall_only_until_undeleted(emu, server, api) -> None:
    contact = emu.create("Contact", {"LastName": "Bin"})
    before = contact["SystemModstamp"]
    assert api.delete(f"/sobjects/Contact/{contact['Id']}").status_code == 204
    query = "SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE IsDeleted = true"
    assert records(api, query) == []
    found = api.get("/queryAll", params={"q": query}).json()["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in found] == [(contact["Id"], True)]
    assert emu.get("Contact", contact["Id"])["SystemModstamp"] >= before
    with httpx.Client(base_url=server.url) as admin:
        restored = admin.post(f"/__admin/records/Contact/{contact['Id']}/undelete")
        assert restored.status_code == 200 and restored.json()["IsDeleted"] is False
        again = admin.post(f"/__admin/records/Contact/{contact['Id']}/undelete")
        assert again.status_code == 400 and again.json()[0]["errorCode"] == "UNDELETE_FAILED"
        assert admin.post("/__admin/records/Contact/003000000000000AAA/undelete").status_code == 404
    assert api.get("/queryAll", params={"q": query}).json()["records"] == []
    assert [r["Id"] for r in records(api, "SELECT Id FROM Contact")] == [contact["Id"]]


def test_a_rest_delete_answers_as_salesforce_does(emu, api) -> None:
    """204 with no body; 404 with Salesforce's error list for an unknown, foreign or deleted id."""
    lead = emu.create("Lead", {"LastName": "Gone", "Company": "Acme"})
    contact = emu.create("Contact", {"LastName": "Stays"})
    deleted = api.delete(f"/sobjects/Lead/{lead['Id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert emu.get("Lead", lead["Id"])["IsDeleted"] is True
    refused = {
        "003RO0000000000AAA": "NOT_FOUND",  # a well-formed id no record has
        "not-an-id": "NOT_FOUND",
        lead["Id"]: "ENTITY_IS_DELETED",
    }
    for record_id, code in refused.items():
        answer = api.delete(f"/sobjects/Lead/{record_id}")
        assert answer.status_code == 404, record_id
        assert answer.headers["content-type"].startswith("application/json")
        [error] = answer.json()
        assert error["errorCode"] == code and error["message"]
    assert api.delete(f"/sobjects/Lead/{contact['Id']}").status_code == 404  # another object's
    assert api.delete(f"/sobjects/Nothing__c/{contact['Id']}").status_code == 404
    assert emu.get("Contact", contact["Id"])["IsDeleted"] is False


def test_the_admin_api_deletes_and_restores_a_record_of_any_object_by_its_id(emu, server) -> None:
    deal = emu.create(
        "Opportunity", {"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    with httpx.Client(base_url=server.url) as admin:
        gone = admin.delete(f"/__admin/ids/{deal['Id'][:15]}")
        assert gone.status_code == 200
        assert gone.json()["sobject"] == "Opportunity"
        assert gone.json()["record"]["Id"] == deal["Id"] and gone.json()["record"]["IsDeleted"]
        again = admin.delete(f"/__admin/ids/{deal['Id']}")
        assert again.status_code == 404 and again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
        back = admin.post(f"/__admin/ids/{deal['Id']}/undelete").json()
        assert back["record"]["IsDeleted"] is False
        assert admin.delete("/__admin/ids/006RO0000000000AAA").status_code == 404
    assert emu.get("Opportunity", deal["Id"])["IsDeleted"] is False
