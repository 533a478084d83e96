"""The built-in apps' HTTP clients share one verifying TLS context (zaplite.tls)."""

from __future__ import annotations

import asyncio
import ssl

from zaplite_clevertap import CleverTapConnection
from zaplite_clevertap.connection import connect
from zaplite_salesforce.connection import SalesforceClient
from zaplite_salesforce.settings import SalesforceSettings

from zaplite.tls import client_context


def _context_of(http: object) -> ssl.SSLContext:
    # httpx keeps the context on its connection pool; there is no public accessor.
    return http._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_every_connection_uses_the_one_shared_context() -> None:
    profiles = connect(CleverTapConnection(account_id="A", passcode="p", region="us1"))
    events = connect(CleverTapConnection(account_id="B", passcode="q", region="in1"))
    salesforce = SalesforceClient(SalesforceSettings(client_id="c", refresh_token="r"))
    try:
        shared = client_context()
        for client in (profiles.http, events.http, salesforce.http):
            assert _context_of(client) is shared
    finally:
        for client in (profiles, events, salesforce):
            asyncio.run(client.http.aclose())


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0, "certificate authorities are loaded"
