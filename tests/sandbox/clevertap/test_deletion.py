"""``POST /1/delete/profiles.json``: identities or guids, one or a list, at most 100."""

from __future__ import annotations

import httpx

from tests.sandbox.clevertap.helpers import event, profile


def _upload(client: httpx.Client, *records: dict) -> None:
    assert client.post("/1/upload", json={"d": list(records)}).json()["status"] == "success"


def test_delete_by_identity_list_and_by_guid(emu, client) -> None:
    _upload(client, profile("a@x.com"), profile("b@x.com"), event("a@x.com"))
    _upload(client, {"objectId": "guid-9", "type": "profile", "profileData": {"Name": "G"}})
    answer = client.post("/1/delete/profiles.json", json={"identity": ["a@x.com", "nobody"]})
    assert (answer.status_code, answer.json()) == (200, {"status": "success"})
    assert set(emu.profiles) == {"b@x.com", "guid-9"} and emu.events == []
    assert client.post("/1/delete/profiles.json", json={"guid": "guid-9"}).status_code == 200
    assert client.post("/1/delete/profiles.json", json={"identity": "b@x.com"}).status_code == 200
    assert emu.profiles == {} and emu.stats()["deleted"] == 3
    assert emu.upload_count == 2  # deletions are not counted as uploads, but logged
    assert sum(1 for r in emu.requests if "d" not in (r["body"] or {})) == 3


def test_bad_delete_requests_are_400(emu, client) -> None:
    for body in ({"d": []}, {"identity": []}, {"identity": [""]}, ["a"]):
        answer = client.post("/1/delete/profiles.json", json=body)
        assert answer.status_code == 400, body
        assert answer.json()["status"] == "fail"
    answer = client.post("/1/delete/profiles.json", json={"identity": [str(i) for i in range(101)]})
    assert answer.status_code == 400 and "at most 100" in answer.json()["error"]
    wrong = client.post(
        "/1/delete/profiles.json",
        json={"identity": "a"},
        headers={"X-CleverTap-Passcode": "nope"},
    )
    assert wrong.status_code == 401
