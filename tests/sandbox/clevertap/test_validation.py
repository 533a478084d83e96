"""Every per-record code, with its message and record number, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.sandbox.clevertap.helpers import event, profile
from zaplite.sandbox.clevertap import RESTRICTED_EVENTS, CleverTapEmulator

IDENTITY_MSG = "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars to identify the user."

BAD_RECORDS: list[tuple[str, Any, int, str]] = [
    (
        "event name missing",
        {"identity": "u", "type": "event", "evtData": {"a": 1}},
        509,
        "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory.",
    ),
    ("event name empty", {**event(), "evtName": ""}, 509, "ErrorCode: 509"),
    ("event name not text", {**event(), "evtName": 42}, 509, "ErrorCode: 509"),
    ("evtData not an object", {**event(), "evtData": [1, 2]}, 512, "ErrorCode: 512"),
    ("record not an object", "just text", 512, "ErrorCode: 512"),
    ("event key too long", event(**{"k" * 121: 1}), 512, "longer than 120 bytes"),
    ("event value too long", event(Note="é" * 257), 512, "longer than 512 bytes"),
    ("profile value too long", profile(Bio="x" * 513), 512, "longer than 512 bytes"),
    ("profile list value too long", profile(Tags=["ok", "x" * 513]), 512, "longer than 512 bytes"),
    ("profileData missing", {"identity": "u", "type": "profile"}, 512, "ErrorCode: 512"),
    ("too many event properties", event(**{f"p{i}": i for i in range(257)}), 522, "ErrorCode: 522"),
    ("bad gender", profile(Gender="Male"), 514, "ErrorCode: 514"),
    ("bad email", profile(Email="jack.example.com"), 515, "ErrorCode: 515"),
    ("email without domain dot", profile(Email="jack@example"), 515, "ErrorCode: 515"),
    ("phone without +", profile(Phone="4155551234"), 516, "ErrorCode: 516"),
    ("phone with letters", profile(Phone="+1415CALLME"), 516, "ErrorCode: 516"),
    ("no identity", {"ts": 1468308340, "type": "profile", "profileData": {}}, 523, IDENTITY_MSG),
    ("empty identity", profile(identity=""), 523, IDENTITY_MSG),
    ("identity of 120 chars", profile(identity="i" * 120), 523, IDENTITY_MSG),
    ("identity an object", profile(identity={"id": 1}), 523, IDENTITY_MSG),
    ("type wrong", {**profile(), "type": "user"}, 524, "ErrorCode: 524"),
    ("type missing", {"identity": "u", "profileData": {}}, 524, "ErrorCode: 524"),
    ("ts zero", {**event(), "ts": 0}, 525, "ErrorCode: 525"),
    ("ts negative", {**event(), "ts": -5}, 525, "ErrorCode: 525"),
    ("ts a float", {**event(), "ts": 1468208340.5}, 525, "ErrorCode: 525"),
    ("ts a string", {**event(), "ts": "1468208340"}, 525, "ErrorCode: 525"),
    ("ts null", {**event(), "ts": None}, 525, "ErrorCode: 525"),
    ("ts in milliseconds", {**event(), "ts": 1468208340000}, 525, "milliseconds"),
    ("objectId not text", {"objectId": 12, "type": "event", "evtName": "E"}, 526, "ErrorCode: 526"),
    ("objectId blank", {"objectId": "  ", "type": "event", "evtName": "E"}, 526, "ErrorCode: 526"),
    (
        "objectId too long",
        {"objectId": "o" * 130, "type": "event", "evtName": "E"},
        526,
        "ErrorCode: 526",
    ),
]


@pytest.mark.parametrize(
    ("bad", "code", "fragment"),
    [case[1:] for case in BAD_RECORDS],
    ids=[case[0] for case in BAD_RECORDS],
)
def test_bad_record_is_skipped_with_its_code_and_number(
    client: httpx.Client, emu: CleverTapEmulator, bad: Any, code: int, fragment: str
) -> None:
    emu.unprocessed_form = "object"
    response = client.post("/1/upload", json={"d": [profile("first@example.com"), bad]})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["processed"] == 1
    [entry] = body["unprocessed"]
    assert entry["status"] == "fail"
    assert entry["code"] == code
    assert fragment in entry["error"]
    assert entry["error"].endswith(". Skipped record number : 2")
    assert entry["record"] == bad
    assert list(emu.profiles) == ["first@example.com"]
    assert emu.events == []


@pytest.mark.parametrize("name", sorted(RESTRICTED_EVENTS))
def test_restricted_system_events_are_refused(
    client: httpx.Client, emu: CleverTapEmulator, name: str
) -> None:
    body = client.post("/1/upload", json={"d": [event(name=name)]}).json()
    assert body["status"] == "fail"
    assert body["processed"] == 0
    [entry] = body["unprocessed"]
    assert entry["code"] == 513
    assert entry["error"] == (
        "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event."
        " Skipped record number : 1"
    )
    assert emu.events == []


VALID_RECORDS: list[tuple[str, dict[str, Any]]] = [
    (
        "profile as in the docs",
        profile(
            Name="Jack Montana",
            Email="jack@example.com",
            Phone="+14155551234",
            Gender="M",
            DOB="$D_1487576752",
            **{"Customer Type": "Platinum"},
        ),
    ),
    ("event as in the docs", event(Amount=300, Currency="USD", **{"Close Date": "$D_1468322268"})),
    ("ts missing means now", {"identity": "u", "type": "event", "evtName": "E"}),
    ("numeric identity", profile(identity=12345, Name="N")),
    ("identity of 119 chars", profile(identity="i" * 119)),
    ("objectId only", {"objectId": "__abc123", "type": "profile", "profileData": {"Name": "O"}}),
    ("empty profileData", profile()),
    ("gender F", profile(Gender="F")),
    ("key of 120 bytes, value of 512 bytes", event(**{"k" * 120: "v" * 512})),
    ("multi-byte value of 512 bytes", event(Note="é" * 256)),
    ("256 event properties", event(**{f"p{i}": i for i in range(256)})),
    ("nested event data", event(Items=[{"sku": "a", "qty": 1}])),
]


@pytest.mark.parametrize(
    "good", [case[1] for case in VALID_RECORDS], ids=[case[0] for case in VALID_RECORDS]
)
def test_valid_record_is_processed(client: httpx.Client, good: dict[str, Any]) -> None:
    body = client.post("/1/upload", json={"d": [good]}).json()
    assert body == {"status": "success", "processed": 1, "unprocessed": []}


def test_record_numbers_count_from_one_within_each_request(client: httpx.Client) -> None:
    records = [profile(f"u{i}@example.com") for i in range(10)]
    records[0] = {**records[0], "type": "nope"}
    records[4] = profile(Gender="X")
    records[9] = {**event(), "ts": 0}
    body = client.post("/1/upload", json={"d": records}).json()
    assert body["processed"] == 7
    numbers = [int(e["error"].rsplit(":", 1)[1]) for e in body["unprocessed"]]
    assert numbers == [1, 5, 10]
    assert [e["code"] for e in body["unprocessed"]] == [524, 514, 525]
    assert [json.loads(e["record"]) for e in body["unprocessed"]] == [
        records[0],
        records[4],
        records[9],
    ]
