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
