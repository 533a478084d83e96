"""The emulators served over loopback HTTP, one fixture each.

- ``sf_org``: a fresh, empty Salesforce org (an :class:`Org`) for each test. Every org
  is served by one server kept for the session (:class:`SharedServer`), switched to
  the test's emulator, so a test pays for no server start.
- ``ct_account``: the CleverTap emulator (an :class:`Account`), one for the session,
  emptied and back to its constructor's settings before each test.

A test that needs two orgs or accounts at once (the fault tests: a bad one and a good
one) serves more with :meth:`Org.serve` and :meth:`Account.serve`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from zaplite_salesforce import SalesforceSettings
from zaplite_salesforce.connection import SalesforceClient, connect

from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import RunningServer, serve_in_thread

__all__ = ["Account", "Org", "SharedServer", "ct_account", "ct_served", "sf_org", "sf_server"]


class SharedServer:
    """One server for the session that forwards each request to the current test's emulator."""

    def __init__(self) -> None:
        self.target: Any = None
        self.running: RunningServer | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)

    def serve(self, emulator: Any) -> RunningServer:
        """Send every request from now on to ``emulator``; returns the running server."""
        assert self.running is not None
        self.target = emulator.app
        return self.running


@dataclass
class Org:
    """One emulated Salesforce org and how to reach it.

    ``prefix`` names this org's contacts (:meth:`add_contacts`); ``tmp_path`` is where
    :meth:`settings` writes the private key of the JWT grant.
    """

    emu: SalesforceEmulator
    server: RunningServer
    prefix: str = "org"
    tmp_path: Path | None = None

    @classmethod
    @contextmanager
    def serve(cls, prefix: str = "org", tmp_path: Path | None = None) -> Iterator[Org]:
        """A fresh org on a server of its own, stopped afterwards."""
        emu = SalesforceEmulator()
        with serve_in_thread(emu.app) as server:
            yield cls(emu=emu, server=server, prefix=prefix, tmp_path=tmp_path)

    @property
    def url(self) -> str:
        """The emulator's login and instance URL."""
        return self.server.url

    def connection(self, auth: str = "refresh_token", **overrides: Any) -> dict[str, Any]:
        """A connection's settings for ``auth`` with the emulator's credentials, as in zaplite.toml."""
        creds = self.emu.credentials
        values: dict[str, Any] = {"login_url": self.url, "auth": auth, "client_id": creds.client_id}
        if auth == "refresh_token":
            values.update(client_secret=creds.client_secret, refresh_token=creds.refresh_token)
        elif auth == "password":
            values.update(
                client_secret=creds.client_secret, username=creds.username, password=creds.password
            )
        elif auth == "client_credentials":
            values.update(client_secret=creds.client_secret)
        elif auth == "jwt":
            values.update(username=creds.username)
            if "private_key_file" not in overrides:
                assert self.tmp_path is not None, "the JWT grant needs a folder for its key file"
                key = self.tmp_path / "server.key"
                key.write_text(creds.private_key_pem)
                values.update(private_key_file=key)
        values.update(overrides)
        return values

    def settings(self, auth: str = "refresh_token", **overrides: Any) -> SalesforceSettings:
        """The plugin's connection settings for ``auth`` with the emulator's credentials."""
        return SalesforceSettings(**self.connection(auth, **overrides))

    def client(self, auth: str = "refresh_token", **overrides: Any) -> SalesforceClient:
        """A client for these settings."""
        return connect(self.settings(auth, **overrides))

    def add_contacts(self, n: int, **extra: Any) -> list[str]:
        """Create ``n`` contacts sharing one timestamp (a bulk import); returns their emails."""
        rows = [
            {"FirstName": "Ada", "LastName": f"{self.prefix} {i}", "Email": self.email(i), **extra}
            for i in range(n)
        ]
        self.emu.create_many("Contact", rows)
        return [row["Email"] for row in rows]

    def email(self, i: int) -> str:
        """The email of this org's ``i``-th contact."""
        return f"{self.prefix}{i}@example.com"

    def paths(self, contains: str) -> list[str]:
        """Paths of the requests the emulator received that contain ``contains``."""
        return [path for _method, path, _query in self.emu.requests if contains in path]

    def count(self, contains: str) -> int:
        """How many requests reached the org whose path contains ``contains``."""
        return len(self.paths(contains))

    def queries(self) -> int:
        """Query requests (first pages and next pages)."""
        return self.count("/query")

    def next_pages(self) -> int:
        """Requests for a next page (``nextRecordsUrl``)."""
        return self.count("/query/")

    def tokens(self) -> int:
        """Token (sign-in) requests."""
        return self.count("/oauth2/token")


@dataclass
class Account:
    """One emulated CleverTap account and how to reach it."""

    emu: CleverTapEmulator
    server: RunningServer

    @classmethod
    @contextmanager
    def serve(cls, account_id: str, passcode: str) -> Iterator[Account]:
        """A fresh account on a server of its own, stopped afterwards."""
        emu = CleverTapEmulator(account_id=account_id, passcode=passcode)
        with serve_in_thread(emu.app) as server:
            yield cls(emu=emu, server=server)

    @property
    def url(self) -> str:
        """The emulator's base URL (the connection's ``endpoint``)."""
        return self.server.url

    def connection(self, **overrides: Any) -> dict[str, Any]:
        """A connection's settings for this account, as in zaplite.toml."""
        values = {
            "account_id": self.emu.account_id,
            "passcode": self.emu.passcode,
            "endpoint": self.url,
        }
        return {**values, **overrides}

    def identities(self) -> set[str]:
        """The identities of the stored profiles."""
        return set(self.emu.profiles)

    def uploaded(self) -> Counter[str]:
        """How often each identity arrived in an upload the emulator processed (status 200)."""
        seen: Counter[str] = Counter()
        for request in self.emu.requests:
            body = request.get("body")
            if request.get("status") == 200 and isinstance(body, dict):
                for record in body.get("d", []):
                    if isinstance(record, dict) and "identity" in record:
                        seen[str(record["identity"])] += 1
        return seen


@pytest.fixture(scope="session")
def sf_server() -> Iterator[SharedServer]:
    """The session's Salesforce server; :meth:`SharedServer.serve` points it at an emulator."""
    shared = SharedServer()
    with serve_in_thread(shared) as running:
        shared.running = running
        yield shared


@pytest.fixture
def sf_org(sf_server: SharedServer, tmp_path: Path) -> Org:
    """A fresh, empty emulated org served over loopback HTTP."""
    emu = SalesforceEmulator()
    return Org(emu=emu, server=sf_server.serve(emu), tmp_path=tmp_path)


@pytest.fixture(scope="session")
def ct_served() -> Iterator[Account]:
    """The session's CleverTap emulator and its server (use ``ct_account``, which resets it)."""
    emu = CleverTapEmulator()
    with serve_in_thread(emu.app) as server:
        yield Account(emu=emu, server=server)


@pytest.fixture
def ct_account(ct_served: Account) -> Account:
    """The CleverTap emulator, emptied and back to its constructor's settings.

    Requests a client gave up on (timeouts) may still be running on the server; they
    are waited for first so that they cannot store into the next test's emulator.
    """
    deadline = time.monotonic() + 30
    while ct_served.emu.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.01)
    ct_served.emu.reset()
    return ct_served
