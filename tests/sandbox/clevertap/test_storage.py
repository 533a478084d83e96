"""Payload checks, the batch cap, what is stored, and profile read-back."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.clevertap.helpers import event, profile
from zaplite.sandbox.clevertap import CleverTapEmulator


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"d": [NaN]}', b"[]", b'{"x": []}', b'{"d": {"identity": "u"}}', b'"d"', b""],
    ids=["not json", "NaN", "a list", "no d", "d not a list", "a string", "empty body"],
)
def test_malformed_payload_is_400(
    client: httpx.Client, emu: CleverTapEmulator, content: bytes
) -> None:
    response = client.post(
        "/1/upload", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "fail"
    assert body["code"] == 400
    assert body["error"].startswith("Malformed request")
    assert emu.requests[-1]["status"] == 400


def test_empty_batch_is_a_success(client: httpx.Client) -> None:
    body = client.post("/1/upload", json={"d": []}).json()
    assert body == {"status": "success", "processed": 0, "unprocessed": []}


def test_one_thousand_records_are_accepted_one_more_is_400(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    batch = [event(f"u{i}", "Visit", n=i) for i in range(1000)]
    body = client.post("/1/upload", json={"d": batch}).json()
    assert body == {"status": "success", "processed": 1000, "unprocessed": []}
    assert len(emu.events) == 1000
    response = client.post("/1/upload", json={"d": [*batch, event()]})
    assert response.status_code == 400
    assert response.json() == {
        "status": "fail",
        "error": "Too many records in the request: 1001 sent, at most 1000 are allowed per request.",
        "code": 400,
    }
    assert len(emu.events) == 1000


def test_mixed_batch_stores_only_the_valid_records(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    records = [
        profile("a@example.com", Name="A", Email="a@example.com"),
        profile("b@example.com", Email="not-an-email"),
        event("a@example.com", "Deal Closed", Amount=300),
        event("c@example.com", "App Launched"),
        event("d@example.com", "Deal Closed", Amount=10),
    ]
    body = client.post("/1/upload", json={"d": records}).json()
    assert body["status"] == "success"
    assert body["processed"] == 3
    assert [e["code"] for e in body["unprocessed"]] == [515, 513]
    assert set(emu.profiles) == {"a@example.com", "d@example.com"}
    assert [(e["identity"], e["evtData"]) for e in emu.events] == [
        ("a@example.com", {"Amount": 300}),
        ("d@example.com", {"Amount": 10}),
    ]


def test_all_invalid_batch_is_status_fail(client: httpx.Client, emu: CleverTapEmulator) -> None:
    response = client.post("/1/upload", json={"d": [profile(Gender="X"), event(name="")]})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "fail"
    assert body["processed"] == 0
    assert len(body["unprocessed"]) == 2
    assert emu.profiles == {}


def test_profile_upserts_merge_profile_data(client: httpx.Client, emu: CleverTapEmulator) -> None:
    client.post("/1/upload", json={"d": [profile(Name="Jack", DOB="$D_1487576752")]})
    update = {**profile(**{"Lead Status": "Qualified"}), "ts": 1468309999}
    client.post("/1/upload", json={"d": [update]})
    assert emu.profiles["jack@example.com"] == {
        "identity": "jack@example.com",
        "profileData": {"Name": "Jack", "DOB": "$D_1487576752", "Lead Status": "Qualified"},
        "ts": 1468309999,
    }


def test_event_for_unknown_identity_creates_a_profile(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    client.post("/1/upload", json={"d": [event("new@example.com", "Deal Closed", Amount=1)]})
    assert emu.profiles["new@example.com"]["profileData"] == {}
    assert emu.events == [
        {
            "identity": "new@example.com",
            "evtName": "Deal Closed",
            "evtData": {"Amount": 1},
            "ts": 1468208340,
        }
    ]


def test_object_id_records_are_keyed_by_object_id(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    records = [
        {"objectId": "__x1", "type": "profile", "profileData": {"Name": "X"}},
        {"objectId": "__x1", "type": "event", "evtName": "Ping"},
    ]
    client.post("/1/upload", json={"d": records})
    assert emu.profiles["__x1"]["objectId"] == "__x1"
    assert "identity" not in emu.profiles["__x1"]
    assert emu.events[0]["objectId"] == "__x1"
    assert emu.events[0]["evtData"] == {}


def test_missing_ts_means_now(client: httpx.Client, emu: CleverTapEmulator) -> None:
    before = int(time.time())
    client.post("/1/upload", json={"d": [{"identity": "u", "type": "event", "evtName": "E"}]})
    assert before <= emu.events[0]["ts"] <= int(time.time())


def test_numeric_identity_is_stored_as_text(client: httpx.Client, emu: CleverTapEmulator) -> None:
    client.post("/1/upload", json={"d": [profile(12345, Name="N")]})
    assert emu.profiles["12345"]["identity"] == "12345"


def test_profile_read_back_by_identity_and_email(client: httpx.Client) -> None:
    client.post(
        "/1/upload",
        json={
            "d": [
                profile(Name="Jack Montana", Email="Jack@Example.com", Phone="+14155551234"),
                event(Amount=300),
                event(Amount=400),
            ]
        },
    )
    by_identity = client.get("/1/profile.json", params={"identity": "jack@example.com"})
    assert by_identity.status_code == 200
    body = by_identity.json()
    assert body["status"] == "success"
    record = body["record"]
    assert record["identity"] == "jack@example.com"
    assert record["name"] == "Jack Montana"
    assert record["email"] == "Jack@Example.com"
    assert record["profileData"]["Phone"] == "+14155551234"
    assert record["events"]["Deal Closed"]["count"] == 2
    by_email = client.get("/1/profile.json", params={"email": "jack@example.com"}).json()
    assert by_email == body


def test_profile_read_back_by_object_id(client: httpx.Client) -> None:
    record = {"objectId": "__x1", "type": "profile", "profileData": {"Name": "X"}}
    client.post("/1/upload", json={"d": [record]})
    body = client.get("/1/profile.json", params={"objectId": "__x1"}).json()
    assert body["record"]["objectId"] == "__x1"


def test_profile_not_found(client: httpx.Client) -> None:
    response = client.get("/1/profile.json", params={"identity": "nobody"})
    assert response.status_code == 200
    assert response.json()["status"] == "fail"
    assert response.json()["error"]
    assert client.get("/1/profile.json", params={"email": "no@x.com"}).json()["status"] == "fail"


def test_profile_read_back_needs_a_key(client: httpx.Client) -> None:
    response = client.get("/1/profile.json")
    assert response.status_code == 400
    assert response.json()["status"] == "fail"


def test_upload_needs_post(client: httpx.Client) -> None:
    assert client.get("/1/upload").status_code == 405
