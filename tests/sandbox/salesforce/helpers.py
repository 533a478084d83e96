"""Helpers shared by the Salesforce emulator tests."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer

VERSION = "64.0"

SSL_CONTEXT = ssl.create_default_context()
"""One TLS context for every client (building one per client is slow; the tests use plain HTTP)."""

CLIENT = httpx.Client(verify=SSL_CONTEXT, timeout=30)
"""A shared unauthenticated client for one-off requests."""


def get_token(server: RunningServer, emu: SalesforceEmulator) -> str:
    """An access token from the refresh-token grant."""
    creds = emu.credentials
    response = CLIENT.post(
        f"{server.url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def soql(
    api: httpx.Client, query: str, *, batch_size: int | None = None, all_rows: bool = False
) -> httpx.Response:
    """``GET /query`` (or ``/queryAll``) with ``q``; ``batch_size`` sets Sforce-Query-Options."""
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
    return api.get("/queryAll" if all_rows else "/query", params={"q": query}, headers=headers)


def records(api: httpx.Client, query: str) -> list[dict[str, Any]]:
    """The records of a query that must succeed in one page."""
    response = soql(api, query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["done"] is True
    return list(body["records"])


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """``(status, errorCode, message)`` of a Salesforce error response."""
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    return response.status_code, body[0]["errorCode"], body[0]["message"]
