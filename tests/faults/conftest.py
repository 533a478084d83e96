"""Fixtures of the fault, secrets and bad-input tests: emulators on loopback, a wired project."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import zaplite_clevertap
import zaplite_salesforce

from tests.faults.world import World
from tests.support.emulators import Account, Org
from zaplite.testing import ZapliteProject


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two orgs and two CleverTap accounts (bad and good) and a project with all four connected."""
    with ExitStack() as stack:
        orgs = {name: stack.enter_context(Org.serve(prefix=name)) for name in ("bad", "good")}
        accounts = {
            name: stack.enter_context(Account.serve(f"ACC-{name.upper()}", f"PASS-{name}"))
            for name in ("bad", "good")
        }
        servers = [service.server for service in (*orgs.values(), *accounts.values())]

        def ask_all_to_exit() -> None:  # first, so that the four shutdowns overlap
            for server in servers:
                server._server.should_exit = True

        stack.callback(ask_all_to_exit)
        project = ZapliteProject(tmp_path / "project")
        stack.callback(project.close)
        project.use_plugins(zaplite_salesforce, zaplite_clevertap)
        project.settings["retry_max_wait"] = 0.2  # so that a Retry-After of 0.1 s is waited out
        for name, org in orgs.items():
            project.add_connection(
                f"sf_{name}", "salesforce", **org.connection(page_size=200, timeout=5.0)
            )
        for name, account in accounts.items():
            project.add_connection(
                f"ct_{name}",
                "clevertap",
                **account.connection(timeout=5.0),
            )
        yield World(project, orgs["bad"], orgs["good"], accounts["bad"], accounts["good"])
