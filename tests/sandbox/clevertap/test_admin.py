"""The ``/__admin/`` API, used when the emulator runs in another process."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.clevertap.helpers import event, profile
from zaplite.sandbox.clevertap import CleverTapEmulator


def test_profiles_events_and_stats(client: httpx.Client) -> None:
    client.post("/1/upload", json={"d": [profile(Name="J"), event(Amount=1), profile(Gender="X")]})
    profiles = client.get("/__admin/profiles").json()
    assert profiles["count"] == 1
    assert profiles["profiles"]["jack@example.com"]["profileData"] == {"Name": "J"}
    events = client.get("/__admin/events").json()
    assert events["count"] == 1
    assert events["events"][0]["evtName"] == "Deal Closed"
    stats = client.get("/__admin/stats").json()
    assert stats["upload_count"] == 1
    assert stats["processed"] == 2
    assert stats["unprocessed"] == 1
    assert stats["profiles"] == 1
    assert stats["events"] == 1
    assert stats["max_concurrent"] == 15
    assert stats["max_batch"] == 1000


def test_requests_summary_and_full_bodies(client: httpx.Client) -> None:
    client.post("/1/upload", json={"d": [profile(), event()]})
    client.post("/1/upload", content=b"{oops")
    summary = client.get("/__admin/requests").json()
    assert summary["count"] == 2
    assert [r["records"] for r in summary["requests"]] == [2, None]
    assert [r["status"] for r in summary["requests"]] == [200, 400]
    assert "body" not in summary["requests"][0]
    full = client.get("/__admin/requests", params={"full": "1"}).json()
    assert full["requests"][0]["body"] == {"d": [profile(), event()]}
    assert full["requests"][1]["body"] == "{oops"


def test_fail_next_through_the_admin_api(client: httpx.Client, emu: CleverTapEmulator) -> None:
    spec = {"fail_next": {"n": 2, "status": 500, "body": {"error": "boom"}, "retry_after": 7}}
    answer = client.post("/__admin/faults", json=spec)
    assert answer.status_code == 200
    assert len(answer.json()["stats"]["pending_faults"]) == 2
    for _ in range(2):
        response = client.post("/1/upload", json={"d": []})
        assert response.status_code == 500
        assert response.json() == {"error": "boom"}
        assert response.headers["retry-after"] == "7"
    assert client.post("/1/upload", json={"d": []}).status_code == 200


def test_drop_latency_and_concurrency_through_the_admin_api(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    spec = {
        "drop_next": {"n": 1, "after_processing": True},
        "latency": 0.01,
        "max_concurrent": 4,
        "retry_after_429": 2,
    }
    assert client.post("/__admin/faults", json=spec).status_code == 200
    assert emu.latency == 0.01
    assert emu.max_concurrent == 4
    assert emu.retry_after_429 == 2
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/1/upload", json={"d": [profile()]})
    assert len(emu.profiles) == 1


def test_reset_through_the_admin_api(client: httpx.Client, emu: CleverTapEmulator) -> None:
    client.post("/1/upload", json={"d": [profile()]})
    emu.fail_next(3)
    assert client.post("/__admin/faults", json={"reset": True}).status_code == 200
    assert emu.profiles == {}
    assert emu.upload_count == 0
    assert client.get("/__admin/stats").json()["pending_faults"] == []


@pytest.mark.parametrize(
    "spec",
    [[1, 2], {"latency": "slow"}, {"fail_next": {"n": "many"}}, {"fail_next": 3}],
    ids=["not an object", "bad latency", "bad n", "fail_next not an object"],
)
def test_bad_fault_settings_are_400(client: httpx.Client, spec: object) -> None:
    response = client.post("/__admin/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["status"] == "fail"


def test_bad_fault_json_is_400(client: httpx.Client) -> None:
    assert client.post("/__admin/faults", content=b"{nope").status_code == 400
