"""``unprocessed[].record`` as a JSON string, an object, or both alternating."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sandbox.clevertap.helpers import profile
from zaplite.sandbox.clevertap import CleverTapEmulator

BAD = [profile(f"u{i}", Gender="X") for i in range(4)]


def test_string_form_is_the_default(client: httpx.Client) -> None:
    body = client.post("/1/upload", json={"d": BAD}).json()
    records = [e["record"] for e in body["unprocessed"]]
    assert all(isinstance(r, str) for r in records)
    assert [json.loads(r) for r in records] == BAD
    assert records[0].startswith('{"identity" : "u0" , ')


def test_object_form(client: httpx.Client, emu: CleverTapEmulator) -> None:
    emu.unprocessed_form = "object"
    body = client.post("/1/upload", json={"d": BAD}).json()
    assert [e["record"] for e in body["unprocessed"]] == BAD


def test_mixed_form_alternates_starting_with_a_string(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    emu.unprocessed_form = "mixed"
    body = client.post("/1/upload", json={"d": BAD}).json()
    records = [e["record"] for e in body["unprocessed"]]
    assert [type(r) for r in records] == [str, dict, str, dict]
    assert [json.loads(r) if isinstance(r, str) else r for r in records] == BAD


def test_form_set_through_the_admin_api(client: httpx.Client, emu: CleverTapEmulator) -> None:
    assert client.post("/__admin/faults", json={"unprocessed_form": "object"}).status_code == 200
    assert emu.unprocessed_form == "object"
    body = client.post("/1/upload", json={"d": BAD[:1]}).json()
    assert body["unprocessed"][0]["record"] == BAD[0]


def test_unknown_form_is_refused(emu: CleverTapEmulator, client: httpx.Client) -> None:
    with pytest.raises(ValueError, match="unprocessed_form"):
        emu.unprocessed_form = "xml"
    with pytest.raises(ValueError):
        CleverTapEmulator(unprocessed_form="xml")
    response = client.post("/__admin/faults", json={"unprocessed_form": "xml"})
    assert response.status_code == 400
    assert emu.unprocessed_form == "string"


def test_reset_restores_the_constructor_form(emu: CleverTapEmulator) -> None:
    emu.unprocessed_form = "mixed"
    emu.reset()
    assert emu.unprocessed_form == "string"


def test_partial_status_can_be_chosen(ct_served: object) -> None:
    emu = CleverTapEmulator(partial_status="partial")
    with emu.serve() as server:
        headers = {"X-CleverTap-Account-Id": emu.account_id, "X-CleverTap-Passcode": emu.passcode}
        body = httpx.post(
            f"{server.url}/1/upload", json={"d": [profile(), BAD[0]]}, headers=headers
        ).json()
    assert body["status"] == "partial"
    assert body["processed"] == 1
