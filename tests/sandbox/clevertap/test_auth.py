"""Account id and passcode checks on upload and profile read-back."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.clevertap.helpers import ACCOUNT_ID, AUTH, PASSCODE, profile
from zaplite.sandbox.clevertap import CleverTapEmulator

UNAUTHORIZED = {"status": "fail", "error": "Account ID is not valid", "code": 401}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": "WRONG-PASSCODE"},
        {"X-CleverTap-Account-Id": "OTHER-ACCOUNT", "X-CleverTap-Passcode": PASSCODE},
        {"X-CleverTap-Account-Id": ACCOUNT_ID},
        {"X-CleverTap-Passcode": PASSCODE},
        {},
    ],
    ids=["wrong passcode", "wrong account", "no passcode", "no account", "no headers"],
)
def test_bad_credentials_get_401_and_nothing_is_stored(
    emu: CleverTapEmulator, base_url: str, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{base_url}/1/upload", json={"d": [profile()]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert emu.profiles == {}
    assert emu.upload_count == 1
    assert [r["status"] for r in emu.requests] == [401]


def test_right_credentials_are_accepted(emu: CleverTapEmulator, base_url: str) -> None:
    response = httpx.post(f"{base_url}/1/upload", json={"d": [profile()]}, headers=AUTH)
    assert response.status_code == 200
    assert list(emu.profiles) == ["jack@example.com"]


def test_custom_credentials(ct_served: object) -> None:
    emu = CleverTapEmulator("ACC-1", "PASS-1")
    with emu.serve() as server:
        good = {"X-CleverTap-Account-Id": "ACC-1", "X-CleverTap-Passcode": "PASS-1"}
        assert httpx.post(f"{server.url}/1/upload", json={"d": []}, headers=good).status_code == 200
        assert httpx.post(f"{server.url}/1/upload", json={"d": []}, headers=AUTH).status_code == 401


def test_profile_read_back_needs_credentials(client: httpx.Client, base_url: str) -> None:
    client.post("/1/upload", json={"d": [profile()]})
    response = httpx.get(f"{base_url}/1/profile.json", params={"identity": "jack@example.com"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_passcode_is_masked_in_the_request_log(
    client: httpx.Client, emu: CleverTapEmulator, base_url: str
) -> None:
    client.post("/1/upload", json={"d": [profile()]})
    wrong = {"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": "MY-WRONG-SECRET"}
    httpx.post(f"{base_url}/1/upload", json={"d": []}, headers=wrong)
    assert len(emu.requests) == 2
    for entry in emu.requests:
        assert entry["headers"]["x-clevertap-passcode"] == "***"
        assert entry["headers"]["x-clevertap-account-id"] == ACCOUNT_ID
    full = client.get("/__admin/requests", params={"full": "1"}).text
    assert PASSCODE not in full
    assert "MY-WRONG-SECRET" not in full
    assert PASSCODE not in repr(emu)
