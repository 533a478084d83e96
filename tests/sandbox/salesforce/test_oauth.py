"""The OAuth token endpoint: the four grants, their success body and Salesforce's error bodies."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
import pytest

from tests.sandbox.salesforce.helpers import CLIENT, VERSION
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token_request(server: RunningServer, data: dict[str, str], **kwargs: object) -> httpx.Response:
    return CLIENT.post(f"{server.url}/services/oauth2/token", data=data, **kwargs)  # type: ignore[arg-type]


def assert_success(
    server: RunningServer, emu: SalesforceEmulator, response: httpx.Response
) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    body = response.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["instance_url"] == server.url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    assert body["id"] == f"{server.url}/id/{emu.org_id}/{emu.user_id}"
    assert body["access_token"].startswith(emu.org_id[:15] + "!")
    usable = CLIENT.get(
        f"{body['instance_url']}/services/data/v{VERSION}/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert usable.status_code == 200


def assert_error(response: httpx.Response, error: str, description: str) -> None:
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def password_form(emu: SalesforceEmulator, **override: str) -> dict[str, str]:
    creds = emu.credentials
    form = {
        "grant_type": "password",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "username": creds.username,
        "password": creds.password,
    }
    form.update(override)
    return form


def test_password_grant(server: RunningServer, emu: SalesforceEmulator) -> None:
    assert_success(server, emu, token_request(server, password_form(emu)))


@pytest.mark.parametrize(
    ("override", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "someone@else.example"}, "invalid_grant", "authentication failure"),
        ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
    ],
)
def test_password_grant_failures(
    server: RunningServer,
    emu: SalesforceEmulator,
    override: dict[str, str],
    error: str,
    description: str,
) -> None:
    assert_error(token_request(server, password_form(emu, **override)), error, description)


def test_refresh_token_grant(server: RunningServer, emu: SalesforceEmulator) -> None:
    creds = emu.credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": creds.client_id,
        "refresh_token": creds.refresh_token,
    }
    assert_success(server, emu, token_request(server, form))  # the secret is optional
    form["client_secret"] = creds.client_secret
    assert_success(server, emu, token_request(server, form))


def test_refresh_token_grant_failures(server: RunningServer, emu: SalesforceEmulator) -> None:
    creds = emu.credentials
    form = {"grant_type": "refresh_token", "client_id": creds.client_id, "refresh_token": "revoked"}
    assert_error(token_request(server, form), "invalid_grant", "expired access/refresh token")
    form = {
        "grant_type": "refresh_token",
        "client_id": "other",
        "refresh_token": creds.refresh_token,
    }
    assert_error(token_request(server, form), "invalid_client_id", "client identifier invalid")


def assertion(emu: SalesforceEmulator, audience: str, **override: object) -> str:
    claims: dict[str, object] = {
        "iss": emu.credentials.client_id,
        "sub": emu.credentials.username,
        "aud": audience,
        "exp": int(time.time()) + 180,
    }
    claims.update(override)
    return jwt.encode(claims, emu.credentials.private_key_pem, algorithm="RS256")


def test_jwt_bearer_grant(server: RunningServer, emu: SalesforceEmulator) -> None:
    for audience in (server.url, "https://login.salesforce.com", "https://test.salesforce.com"):
        form = {"grant_type": JWT_GRANT, "assertion": assertion(emu, audience)}
        assert_success(server, emu, token_request(server, form))


def test_jwt_bearer_grant_failures(server: RunningServer, emu: SalesforceEmulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = jwt.encode(
        {
            "iss": emu.credentials.client_id,
            "sub": emu.credentials.username,
            "aud": server.url,
            "exp": int(time.time()) + 180,
        },
        other_key,
        algorithm="RS256",
    )
    cases = [
        (forged, "invalid_grant", "invalid assertion"),
        ("not-a-jwt", "invalid_grant", "invalid assertion"),
        (
            assertion(emu, server.url, exp=int(time.time()) - 600),
            "invalid_grant",
            "expired authorization code",
        ),
        (assertion(emu, "https://elsewhere.example"), "invalid_grant", "audience is invalid"),
        (
            assertion(emu, server.url, iss="someone-else"),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            assertion(emu, server.url, sub="nobody@example.com"),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
    ]
    for token, error, description in cases:
        assert_error(
            token_request(server, {"grant_type": JWT_GRANT, "assertion": token}), error, description
        )


def test_client_credentials_grant(server: RunningServer, emu: SalesforceEmulator) -> None:
    creds = emu.credentials
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = token_request(
        server, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert_success(server, emu, response)
    bad = base64.b64encode(f"{creds.client_id}:wrong".encode()).decode()
    response = token_request(
        server, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {bad}"}
    )
    assert_error(response, "invalid_client", "invalid client credentials")
    assert_error(
        token_request(server, {"grant_type": "client_credentials"}),
        "invalid_client",
        "invalid client credentials",
    )


def test_unsupported_grant(server: RunningServer) -> None:
    assert_error(
        token_request(server, {"grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer"}),
        "unsupported_grant_type",
        "grant type not supported",
    )
    assert_error(token_request(server, {}), "unsupported_grant_type", "grant type not supported")


def test_versions_need_no_auth_and_have_no_limit_header(server: RunningServer) -> None:
    response = CLIENT.get(f"{server.url}/services/data/")
    assert response.status_code == 200
    versions = [entry["version"] for entry in response.json()]
    assert "62.0" in versions and "67.0" in versions
    assert all(entry["url"] == f"/services/data/v{entry['version']}" for entry in response.json())
    assert "sforce-limit-info" not in response.headers


def test_expired_token_is_401_invalid_session(
    server: RunningServer, emu: SalesforceEmulator, api: httpx.Client
) -> None:
    assert api.get("/limits").status_code == 200
    emu.expire_tokens()
    response = api.get("/limits")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert "sforce-limit-info" in response.headers
    for headers in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic x"}):
        response = CLIENT.get(f"{server.url}/services/data/v{VERSION}/limits", headers=headers)
        assert response.status_code == 401


def test_credentials_repr_hides_secrets(emu: SalesforceEmulator) -> None:
    text = repr(emu.credentials)
    creds = emu.credentials
    for secret in (creds.client_secret, creds.refresh_token, creds.password, creds.private_key_pem):
        assert secret not in text
