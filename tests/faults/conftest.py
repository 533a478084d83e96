"""Fixtures of the fault, secrets and bad-input tests: emulators on loopback, a wired project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zaplite_clevertap
import zaplite_salesforce

from tests.faults.world import Account, Org, World
from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.server import serve_in_thread
from zaplite.testing import ZapliteProject


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two orgs and two CleverTap accounts (bad and good) and a project with all four connected."""
    servers = []
    try:
        orgs = {}
        for name in ("bad", "good"):
            emu = SalesforceEmulator()
            server = serve_in_thread(emu.app)
            servers.append(server)
            orgs[name] = Org(emu=emu, server=server, prefix=name)
        accounts = {}
        for name in ("bad", "good"):
            ct = CleverTapEmulator(account_id=f"ACC-{name.upper()}", passcode=f"PASS-{name}")
            server = serve_in_thread(ct.app)
            servers.append(server)
            accounts[name] = Account(emu=ct, server=server)
        project = ZapliteProject(tmp_path / "project")
        project.use_plugins(zaplite_salesforce, zaplite_clevertap)
        for name, org in orgs.items():
            creds = org.emu.credentials
            project.add_connection(
                f"sf_{name}",
                "salesforce",
                login_url=org.server.url,
                auth="refresh_token",
                client_id=creds.client_id,
                client_secret=creds.client_secret,
                refresh_token=creds.refresh_token,
                page_size=200,
                timeout=5.0,
            )
        for name, account in accounts.items():
            project.add_connection(
                f"ct_{name}",
                "clevertap",
                account_id=account.emu.account_id,
                passcode=account.emu.passcode,
                endpoint=account.server.url,
                timeout=5.0,
                retry_attempts=3,
                retry_initial=0.01,
                retry_max_wait=0.2,
                retry_total=10.0,
            )
        world = World(project, orgs["bad"], orgs["good"], accounts["bad"], accounts["good"])
        try:
            yield world
        finally:
            project.close()
    finally:
        for server in servers:  # ask all four to exit first, so their shutdowns overlap
            server._server.should_exit = True
        for server in servers:
            server.stop()
