"""The CleverTap actions run through the real engine: a small in-test trigger feeds them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zaplite_clevertap

from tests.support.emulators import Account
from zaplite import App, Page, PollContext, hookimpl, testing

DEALS: list[dict[str, Any]] = []
"""What the in-test ``deals`` trigger returns; each test fills it."""

deals_app = App("deals", label="Deals (test)")


@deals_app.trigger("closed", dedup_key="Id", sample={"Id": "1", "Email": "a@example.com"})
def closed(ctx: PollContext) -> Iterator[Page]:
    """Every record in DEALS after the cursor."""
    start = int(ctx.cursor or 0)
    yield Page(records=[dict(record) for record in DEALS[start:]], cursor=len(DEALS))


class DealsPlugin:
    """Registers the in-test trigger app."""

    @hookimpl
    def register_apps(self, register: Callable[[App], None]) -> None:
        """Register ``deals``."""
        register(deals_app)


ZAP = {
    "id": "won-deals",
    "name": "Closed deals to CleverTap",
    "schedule": {"every": "5m"},
    "trigger": {"app": "deals", "event": "closed", "start": "all"},
    "steps": [
        {
            "id": "profile",
            "app": "clevertap",
            "action": "upload_profile",
            "params": {
                "identity": "{{trigger.Email}}",
                "ts": "{{trigger.CreatedDate}}",
                "profile": '{"Name": "{{trigger.Name}}", "Stage": "{{trigger.StageName}}"}',
            },
        },
        {
            "id": "won",
            "app": "clevertap",
            "action": "upload_event",
            "params": {
                "identity": "{{trigger.Email}}",
                "ts": "{{trigger.CloseDate}}",
                "event_name": "Deal Closed",
                "event_properties": {
                    "Amount": "{{trigger.Amount}}",
                    "Close Date": "{{trigger.CloseDate}}",
                    "Salesperson": "{{trigger.Owner.Name}}",
                },
            },
        },
    ],
}


def deal(n: int, email: str | None = None) -> dict[str, Any]:
    return {
        "Id": f"006{n:05d}",
        "Email": f"buyer{n}@example.com" if email is None else email,
        "Name": f"Buyer {n}",
        "StageName": "Closed Won",
        "Amount": 1000 + n,
        "CreatedDate": "2026-05-01T09:00:00.000+0000",
        "CloseDate": "2026-05-08",
        "Owner": {"Name": "Ann Seller"},
    }


@pytest.fixture
def project(tmp_path: Path, emu: Any, ct_account: Account) -> Iterator[Any]:
    """A project with the CleverTap plugin, the deals trigger, and the emulator as endpoint."""
    server = ct_account.server
    DEALS.clear()
    zaplite_project = testing.ZapliteProject(tmp_path / "project")
    zaplite_project.use_plugins(zaplite_clevertap, DealsPlugin())
    zaplite_project.add_connection(
        "clevertap",
        "clevertap",
        account_id="TEST-ZAP-LITE",
        passcode="SANDBOX-PASSCODE",
        endpoint=server.url,
    )
    zaplite_project.add_zap(ZAP)
    try:
        yield zaplite_project
    finally:
        zaplite_project.close()


def test_a_zap_delivers_profiles_and_events(project: Any, emu: Any) -> None:
    DEALS.extend([deal(1), deal(2), deal(3, email="")])
    [result] = project.run_once("won-deals")
    assert result.found == 3
    assert result.delivered == 2 and result.failed == 1
    assert emu.profiles["buyer1@example.com"]["profileData"] == {
        "Name": "Buyer 1",
        "Stage": "Closed Won",
    }
    assert emu.profiles["buyer2@example.com"]["ts"] == 1777626000
    events = {event["identity"]: event for event in emu.events}
    assert events["buyer2@example.com"]["evtData"] == {
        "Amount": 1002,
        "Close Date": "$D_1778198400",
        "Salesperson": "Ann Seller",
    }
    assert len(emu.events) == 2
    assert emu.upload_count == 2  # one request per step: the batch perform
    failed = project.tasks(status="failed")
    assert len(failed) == 1
    assert "identity or object_id" in failed[0].error
    [again] = project.run_once("won-deals")
    assert again.found == 0 and emu.upload_count == 2


def test_a_wrong_passcode_fails_clearly_and_never_shows_the_passcode(
    project: Any, emu: Any, ct_account: Account
) -> None:
    server = ct_account.server
    project.add_connection(
        "clevertap",
        "clevertap",
        account_id="TEST-ZAP-LITE",
        passcode="A-WRONG-PASSCODE",
        region="us1",
        endpoint=server.url,
    )
    DEALS.append(deal(1))
    [result] = project.run_once("won-deals")
    assert result.delivered == 0
    assert "wrong passcode or a wrong region" in (result.message or "")
    assert "A-WRONG-PASSCODE" not in repr(result)
    assert emu.profiles == {}
