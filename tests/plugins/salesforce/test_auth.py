"""Sign-in with the four grants, error codes mapped to typed errors, and secrets kept out of messages."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from zaplite_salesforce.connection import verify_connection

from zaplite.errors import (
    AuthError,
    ParamsRejected,
    PermanentError,
    PluginError,
    QuotaExceeded,
    RetryableError,
)

pytestmark = pytest.mark.anyio

GRANTS = ["refresh_token", "jwt", "client_credentials", "password"]


def _secrets(org) -> list[str]:
    creds = org.emu.credentials
    return [creds.client_secret, creds.refresh_token, creds.password]


@pytest.mark.parametrize("auth", GRANTS)
async def test_each_grant_signs_in_and_polls(org, zap, auth) -> None:
    client = org.client(auth)
    try:
        said = await verify_connection(client)
        assert re.fullmatch(
            rf"signed in to {re.escape(org.server.host)}:{org.server.port} "
            r"\(API v64\.0, api-usage=\d+/\d+\)",
            said,
        )
        org.emu.create("Contact", {"LastName": "Signed"})
        watcher = zap("new_contact", client, start="all", fields=["LastName"])
        assert [r["LastName"] for r in await watcher.poll()] == ["Signed"]
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("auth", "wrong"),
    [
        ("refresh_token", {"refresh_token": "5Aep861-WRONG-refresh-token-value"}),
        ("password", {"password": "Wr0ng-Passw0rd-and-Token"}),
        ("client_credentials", {"client_secret": "Wrong-Client-Secret-123"}),
    ],
)
async def test_refused_credentials_are_an_auth_error_without_retry_or_secret(
    org, auth, wrong
) -> None:
    client = org.client(auth, **wrong)
    try:
        with pytest.raises(AuthError) as raised:
            await verify_connection(client)
    finally:
        await client.aclose()
    message = str(raised.value)
    assert message.startswith(f"Salesforce refused the sign-in ({auth} grant at {org.url}): ")
    assert raised.value.code == "invalid_grant" or raised.value.code == "invalid_client"
    assert len(org.paths("/services/oauth2/token")) == 1
    for secret in [*wrong.values(), *_secrets(org)]:
        assert secret not in message


async def test_jwt_signed_with_another_key_is_refused(org, tmp_path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "other.key"
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = org.client("jwt")
    client.settings = client.settings.model_copy(update={"private_key_file": path})
    try:
        with pytest.raises(AuthError, match="jwt grant"):
            await verify_connection(client)
    finally:
        await client.aclose()


async def test_token_endpoint_outage_is_retryable(org) -> None:
    org.emu.fail_next(1, 503, {"error": "unavailable"}, path_contains="/oauth2/token")
    client = org.client()
    try:
        with pytest.raises(RetryableError):
            await verify_connection(client)
        assert (await verify_connection(client)).startswith("signed in to")
    finally:
        await client.aclose()


async def test_unreachable_salesforce_is_retryable(org) -> None:
    client = org.client(login_url="http://127.0.0.1:9")
    try:
        with pytest.raises(RetryableError, match="Cannot reach"):
            await verify_connection(client)
    finally:
        await client.aclose()


async def test_session_refused_even_after_renewal_is_an_auth_error(org, client, zap) -> None:
    body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    org.emu.fail_next(2, 401, body, path_contains="/query")
    watcher = zap("new_contact", client, start="all")
    with pytest.raises(AuthError, match="freshly issued access token"):
        await watcher.poll()
    assert len(org.paths("/services/oauth2/token")) == 2


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "INVALID_FIELD", ParamsRejected),
        (400, "MALFORMED_QUERY", ParamsRejected),
        (400, "INVALID_TYPE", ParamsRejected),
        (400, "QUERY_TIMEOUT", RetryableError),
        (500, "UNKNOWN_EXCEPTION", RetryableError),
        (503, "SERVER_UNAVAILABLE", RetryableError),
        (403, "REQUEST_LIMIT_EXCEEDED", QuotaExceeded),
        (400, "SOMETHING_NEW", PermanentError),
    ],
)
async def test_error_codes_become_typed_errors(org, client, zap, status, code, kind) -> None:
    said = f"Salesforce says {code.lower()}"
    org.emu.fail_next(10, status, [{"message": said, "errorCode": code}], path_contains="/query")
    watcher = zap("new_contact", client, start="all")
    with pytest.raises(PluginError) as raised:
        await watcher.poll()
    assert type(raised.value) is kind
    assert raised.value.code == code
    if kind is not QuotaExceeded:
        assert said in str(raised.value)
    assert len(org.paths("/query")) == 1, (
        "the engine retries, by its one policy; the client does not"
    )


async def test_spent_quota_says_so_with_the_usage(org, client, zap) -> None:
    await verify_connection(client)
    org.emu.exhaust_quota()
    watcher = zap("new_contact", client, start="all")
    with pytest.raises(QuotaExceeded) as raised:
        await watcher.poll()
    assert "daily API request quota is spent" in str(raised.value)
    assert re.search(r"api-usage=\d+/\d+", str(raised.value))
    assert raised.value.retry_after


async def test_dropped_connections_and_timeouts_are_retryable(org, client, zap) -> None:
    await verify_connection(client)
    org.emu.drop_next(1, path_contains="/query")
    watcher = zap("new_contact", client, start="all")
    with pytest.raises(RetryableError):
        await watcher.poll()
    slow = org.client(timeout=0.2)
    try:
        await verify_connection(slow)
        org.emu.latency = 1.0
        with pytest.raises(RetryableError, match=r"did not answer within 0\.2 s"):
            await zap("new_contact", slow, start="all").poll()
    finally:
        org.emu.latency = 0.0
        await slow.aclose()


async def test_secrets_and_tokens_never_reach_a_message(org, client, zap) -> None:
    await verify_connection(client)
    token = client._token.access_token
    echo = f"Bad request for token {token} and secret {org.emu.credentials.client_secret}"
    org.emu.fail_next(1, 400, [{"message": echo, "errorCode": "WEIRD"}], path_contains="/query")
    with pytest.raises(PermanentError) as raised:
        await zap("new_contact", client, start="all").poll()
    message = str(raised.value)
    assert "***" in message
    for secret in [token, *_secrets(org)]:
        assert secret not in message
    assert token not in repr(client._token)
