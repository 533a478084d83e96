"""The emulator's interactive OAuth: consent, PKCE code exchange, device flow, rotation, revoke, identity."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from tests.sandbox.salesforce.helpers import CLIENT, VERSION
from tests.support.consent import answer_consent, query_of
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer

REDIRECT = "http://localhost:1717/OauthRedirect"
VERIFIER = "v" * 20 + "-verifier-of-the-test-0123456789abcdef"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(server: RunningServer, emu: SalesforceEmulator, **overrides: str) -> str:
    query = {
        "response_type": "code",
        "client_id": emu.credentials.client_id,
        "redirect_uri": REDIRECT,
        "state": "st4te",
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    query.update(overrides)
    return str(httpx.URL(f"{server.url}/services/oauth2/authorize", params=query))


def exchange(
    server: RunningServer, emu: SalesforceEmulator, code: str, **overrides: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": emu.credentials.client_id,
        "code_verifier": VERIFIER,
    }
    form.update(overrides)
    return CLIENT.post(f"{server.url}/services/oauth2/token", data=form)


def code_for(server: RunningServer, emu: SalesforceEmulator) -> str:
    location = answer_consent(authorize(server, emu))
    assert location.startswith(REDIRECT + "?")
    answer = query_of(location)
    assert answer["state"] == "st4te"
    return answer["code"]


def refresh(server: RunningServer, emu: SalesforceEmulator, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "client_id": emu.credentials.client_id}
    form["refresh_token"] = token
    return CLIENT.post(f"{server.url}/services/oauth2/token", data=form)


def test_allow_gives_a_code_that_exchanges_once_for_tokens(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    page = CLIENT.get(authorize(server, emu))
    assert page.status_code == 200
    assert "Allow" in page.text and "Deny" in page.text and emu.credentials.username in page.text
    code = code_for(server, emu)
    response = exchange(server, emu, code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] and body["access_token"] and body["scope"]
    assert body["id"] == f"{server.url}/id/{emu.org_id}/{emu.user_id}"
    again = exchange(server, emu, code)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }
    # The new refresh token signs in; the identity URL names the user and the org.
    assert refresh(server, emu, body["refresh_token"]).status_code == 200
    who = CLIENT.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert who.status_code == 200
    assert who.json()["username"] == emu.credentials.username
    assert who.json()["organization_id"] == emu.org_id


def test_deny_redirects_with_access_denied_and_the_state(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    location = answer_consent(authorize(server, emu), allow=False)
    assert query_of(location) == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": "st4te",
    }


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("code_verifier", "not-the-verifier-at-all-0123456789012345678", "invalid code verifier"),
        ("code_verifier", "", "invalid code verifier"),
        (
            "redirect_uri",
            "http://localhost:9999/OauthRedirect",
            "redirect_uri must match configuration",
        ),
    ],
)
def test_a_code_with_the_wrong_verifier_or_redirect_is_refused(
    server: RunningServer, emu: SalesforceEmulator, field: str, value: str, error: str
) -> None:
    response = exchange(server, emu, code_for(server, emu), **{field: value})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": error}


def test_pkce_is_required_and_only_s256(server: RunningServer, emu: SalesforceEmulator) -> None:
    for overrides, description in (
        ({"code_challenge": ""}, "missing required code challenge"),
        ({"code_challenge_method": "plain"}, "code challenge method not supported"),
    ):
        response = CLIENT.get(authorize(server, emu, **overrides))
        assert response.status_code == 302
        answer = query_of(response.headers["location"])
        assert answer["error"] == "invalid_request"
        assert answer["error_description"] == description


def test_an_unknown_client_or_foreign_callback_gets_an_error_page_not_a_redirect(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    bad_client = CLIENT.get(authorize(server, emu, client_id="nope"))
    assert bad_client.status_code == 400 and "invalid_client_id" in bad_client.text
    foreign = CLIENT.get(authorize(server, emu, redirect_uri="https://evil.example/cb"))
    assert foreign.status_code == 400 and "redirect_uri_mismatch" in foreign.text


def test_rotation_replaces_the_refresh_token_at_each_refresh(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    emu.oauth.rotate_refresh_tokens = True
    first = exchange(server, emu, code_for(server, emu)).json()["refresh_token"]
    response = refresh(server, emu, first)
    assert response.status_code == 200
    second = response.json()["refresh_token"]
    assert second != first
    old = refresh(server, emu, first)
    assert old.status_code == 400
    assert old.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    assert refresh(server, emu, second).status_code == 200
    emu.oauth.rotate_refresh_tokens = False
    without = refresh(server, emu, emu.credentials.refresh_token)
    assert "refresh_token" not in without.json()
    # The emulator's fixed sandbox token rotates away like any other.
    emu.oauth.rotate_refresh_tokens = True
    assert "refresh_token" in refresh(server, emu, emu.credentials.refresh_token).json()
    assert refresh(server, emu, emu.credentials.refresh_token).status_code == 400


def test_revoke_ends_the_refresh_token_and_its_access_tokens(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    body = exchange(server, emu, code_for(server, emu)).json()
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (
        CLIENT.get(f"{server.url}/services/data/v{VERSION}/limits", headers=bearer).status_code
        == 200
    )
    revoked = CLIENT.post(
        f"{server.url}/services/oauth2/revoke", data={"token": body["refresh_token"]}
    )
    assert revoked.status_code == 200
    assert refresh(server, emu, body["refresh_token"]).status_code == 400
    assert (
        CLIENT.get(f"{server.url}/services/data/v{VERSION}/limits", headers=bearer).status_code
        == 401
    )
    unknown = CLIENT.post(f"{server.url}/services/oauth2/revoke", data={"token": "nothing"})
    assert unknown.status_code == 400
    assert CLIENT.get(body["id"], headers=bearer).status_code == 403


def test_device_flow_pending_then_approved(server: RunningServer, emu: SalesforceEmulator) -> None:
    emu.oauth.device_interval = 0
    token_url = f"{server.url}/services/oauth2/token"
    start = CLIENT.post(
        token_url, data={"response_type": "device_code", "client_id": emu.credentials.client_id}
    ).json()
    assert set(start) == {"device_code", "user_code", "verification_uri", "interval"}
    assert start["verification_uri"] == f"{server.url}/setup/connect"
    poll = {
        "grant_type": "device",
        "client_id": emu.credentials.client_id,
        "code": start["device_code"],
    }
    pending = CLIENT.post(token_url, data=poll)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    page = CLIENT.get(start["verification_uri"])
    assert page.status_code == 200 and "user_code" in page.text
    wrong = CLIENT.post(start["verification_uri"], data={"user_code": "NOPE", "decision": "allow"})
    assert wrong.status_code == 400
    approved = CLIENT.post(
        start["verification_uri"], data={"user_code": start["user_code"], "decision": "allow"}
    )
    assert approved.status_code == 200 and re.search("connected", approved.text)
    done = CLIENT.post(token_url, data=poll)
    assert done.status_code == 200 and done.json()["refresh_token"]
    assert CLIENT.post(token_url, data=poll).json()["error"] == "invalid_grant"


def test_device_flow_denied_expired_and_too_fast(
    server: RunningServer, emu: SalesforceEmulator
) -> None:
    token_url = f"{server.url}/services/oauth2/token"
    client_id = emu.credentials.client_id

    def start() -> dict[str, str]:
        return CLIENT.post(
            token_url, data={"response_type": "device_code", "client_id": client_id}
        ).json()

    def poll(device: dict[str, str]) -> httpx.Response:
        return CLIENT.post(
            token_url,
            data={"grant_type": "device", "client_id": client_id, "code": device["device_code"]},
        )

    emu.oauth.device_interval = 60
    fast = start()
    assert poll(fast).json()["error"] == "authorization_pending"
    assert poll(fast).json()["error"] == "slow_down"
    emu.oauth.device_interval = 0
    denied = start()
    CLIENT.post(
        f"{server.url}/setup/connect", data={"user_code": denied["user_code"], "decision": "deny"}
    )
    assert poll(denied).json() == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
    }
    emu.oauth.device_seconds = 0
    expired = start()
    assert poll(expired).json() == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }


def test_admin_api_switches_rotation(server: RunningServer, emu: SalesforceEmulator) -> None:
    response = CLIENT.post(
        f"{server.url}/__admin/faults",
        json={"oauth": {"rotate_refresh_tokens": True, "device_interval": 2}},
    )
    assert response.status_code == 200
    assert emu.oauth.rotate_refresh_tokens and emu.oauth.device_interval == 2
    stats = CLIENT.get(f"{server.url}/__admin/stats").json()
    assert stats["refresh_tokens"] == 0 and stats["revoked_tokens"] == 0
