"""The Salesforce app through the real engine: emulated Salesforce → zaplite → emulated CleverTap."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zaplite_clevertap
import zaplite_salesforce

from tests.support.emulators import Account, Org
from tests.support.zaps import NAME, contact_zap
from zaplite.engine.run import Engine
from zaplite.engine.trials import fetch_samples
from zaplite.testing import ZapliteProject


@pytest.fixture
def project(tmp_path: Path, org: Org, ct_account: Account) -> Iterator[ZapliteProject]:
    """A project wired to both emulators through the real plugins."""
    project = ZapliteProject(tmp_path / "project")
    project.use_plugins(zaplite_salesforce, zaplite_clevertap)
    (project.root / "keys").mkdir()
    (project.root / "keys" / "server.key").write_text(org.emu.credentials.private_key_pem)
    project.add_connection("salesforce", "salesforce", **org.connection(page_size=200))
    project.add_connection(
        "sf_jwt", "salesforce", **org.connection("jwt", private_key_file="keys/server.key")
    )
    project.add_connection("clevertap", "clevertap", **ct_account.connection())
    try:
        yield project
    finally:
        project.close()


NEW_CONTACT_ZAP = contact_zap(
    "new-contact",
    sf="salesforce",
    ct="clevertap",
    fields=["FirstName", "LastName", "Email", "CreatedDate", "Owner.Name"],
    profile={"Name": NAME, "Email": "{{trigger.Email}}", "Owner": "{{trigger.Owner.Name}}"},
)

CLOSED_WON_ZAP = {
    "id": "closed-won",
    "schedule": {"every": "5m"},
    "trigger": {
        "app": "salesforce",
        "event": "updated_record",
        "connection": "sf_jwt",
        "params": {
            "object": "Opportunity",
            "fields": ["Name", "StageName", "Amount", "Owner.Name"],
            "watch_fields": ["StageName"],
        },
        "start": "now",
    },
    "steps": [
        {
            "id": "won",
            "filter": [{"field": "{{trigger.StageName}}", "op": "equals", "value": "Closed Won"}],
        },
        {
            "id": "event",
            "app": "clevertap",
            "action": "upload_event",
            "connection": "clevertap",
            "params": {
                "identity": "deals@example.com",
                "ts": "{{trigger.SystemModstamp}}",
                "event_name": "Deal Closed",
                "event_properties": {
                    "Amount": "{{trigger.Amount}}",
                    "Previous stage": "{{trigger._previous.StageName}}",
                    "Salesperson": "{{trigger.Owner.Name}}",
                },
            },
        },
    ],
}


def test_new_contacts_become_profiles_once(
    project: ZapliteProject, org: Org, ct_account: Account
) -> None:
    ct = ct_account.emu
    org.emu.create("Contact", {"LastName": "Existing", "Email": "old@example.com"})
    project.add_zap(NEW_CONTACT_ZAP)
    [first] = project.run_once("new-contact")
    assert first.status == "ok" and first.delivered == 0
    rows = [
        {"FirstName": "Ada", "LastName": f"Person {index}", "Email": f"ada{index}@example.com"}
        for index in range(450)
    ]
    org.emu.create_many("Contact", rows)
    [second] = project.run_once("new-contact")
    assert second.status == "ok", second.message
    assert second.delivered == 450 and second.pages >= 3
    assert second.usage and second.usage.startswith("api-usage=")
    assert ct.profiles["ada7@example.com"]["profileData"]["Name"] == "Ada Person 7"
    assert ct.profiles["ada7@example.com"]["profileData"]["Owner"] == "Integration User"
    assert "old@example.com" not in ct.profiles
    [third] = project.run_once("new-contact")
    assert third.delivered == 0 and third.found == 0


def test_closed_won_fires_one_event_per_stage_change(
    project: ZapliteProject, org: Org, ct_account: Account
) -> None:
    ct = ct_account.emu
    project.add_zap(CLOSED_WON_ZAP)
    assert project.run_once("closed-won")[0].status == "ok"
    opp = org.emu.create(
        "Opportunity",
        {
            "Name": "Acme",
            "StageName": "Negotiation/Review",
            "Amount": 900,
            "CloseDate": "2026-12-31",
        },
    )
    [run] = project.run_once("closed-won")
    assert run.status == "ok", run.message
    assert run.found == 1 and run.filtered == 1 and ct.events == []
    org.emu.update("Opportunity", opp["Id"], {"Amount": 1200})
    assert project.run_once("closed-won")[0].found == 0
    org.emu.update("Opportunity", opp["Id"], {"StageName": "Closed Won"})
    [run] = project.run_once("closed-won")
    assert run.delivered == 1, run.message
    [event] = ct.events
    assert event["evtName"] == "Deal Closed"
    assert event["evtData"]["Amount"] == 1200
    assert event["evtData"]["Previous stage"] == "Negotiation/Review"
    assert project.run_once("closed-won")[0].found == 0


def test_existing_records_fire_on_their_first_watched_change_after_start_now(
    project: ZapliteProject, org: Org, ct_account: Account
) -> None:
    """A "now" zap remembers today's watched values, so an old deal closing later fires once."""
    ct = ct_account.emu
    old = org.emu.create(
        "Opportunity",
        {"Name": "Old deal", "StageName": "Prospecting", "Amount": 500, "CloseDate": "2026-12-31"},
        timestamp=datetime.now(UTC) - timedelta(days=3),
    )
    other = org.emu.create(
        "Opportunity",
        {"Name": "Other", "StageName": "Prospecting", "Amount": 10, "CloseDate": "2026-12-31"},
        timestamp=datetime.now(UTC) - timedelta(days=3),
    )
    project.add_zap(CLOSED_WON_ZAP)
    [baseline] = project.run_once("closed-won")
    assert baseline.status == "ok" and baseline.found == 0
    org.emu.update("Opportunity", other["Id"], {"Amount": 20})  # not a watched field
    assert project.run_once("closed-won")[0].found == 0
    org.emu.update("Opportunity", old["Id"], {"StageName": "Closed Won"})
    [run] = project.run_once("closed-won")
    assert (run.found, run.delivered) == (1, 1), run.message
    [event] = ct.events
    assert event["evtData"]["Previous stage"] == "Prospecting"


def test_expired_token_mid_run_is_renewed_by_the_engine_run(
    project: ZapliteProject, org: Org, ct_account: Account
) -> None:
    ct = ct_account.emu
    project.add_zap(NEW_CONTACT_ZAP)
    project.run_once("new-contact")
    org.emu.create_many(
        "Contact",
        [{"LastName": f"T{index}", "Email": f"t{index}@example.com"} for index in range(300)],
    )
    org.emu.expire_tokens()
    [run] = project.run_once("new-contact")
    assert run.status == "ok", run.message
    assert run.delivered == 300
    assert len(ct.profiles) == 300


def test_bad_field_fails_the_run_with_a_clear_message(project: ZapliteProject, org: Org) -> None:
    zap = {**NEW_CONTACT_ZAP, "id": "typo"}
    zap["trigger"] = {**NEW_CONTACT_ZAP["trigger"], "params": {"fields": ["Emial"]}}
    project.add_zap(zap)
    [run] = project.run_once("typo")
    assert run.status != "ok"
    assert "Emial" in (run.message or "")
    assert org.emu.credentials.client_secret not in (run.message or "")


def test_test_trigger_shows_recent_records_and_moves_no_cursor(
    project: ZapliteProject, org: Org
) -> None:
    for index in range(5):
        org.emu.create(
            "Contact",
            {"LastName": f"R{index}", "Email": f"r{index}@example.com"},
            timestamp=datetime.now(UTC) - timedelta(minutes=10 - index),
        )
    project.add_zap(NEW_CONTACT_ZAP)
    workspace = project.workspace

    async def go() -> list[dict[str, Any]]:
        engine = Engine.for_workspace(workspace)
        try:
            shown = await fetch_samples(engine, workspace.zap("new-contact"), limit=2)
            assert not shown.built_in_sample
            return shown.records
        finally:
            await engine.connections.close()

    records = asyncio.run(go())
    assert [r["LastName"] for r in records] == ["R4", "R3"]
    assert records[0]["Owner"] == {"Name": "Integration User"}
    [run] = project.run_once("new-contact")
    assert run.status == "ok" and run.found == 0


KEY_CAP = 500
"""A dedup memory far smaller than the imports below, so that the tests prove the class."""


def test_a_one_timestamp_import_larger_than_the_key_memory_is_delivered_once(
    project: ZapliteProject, org: Org, ct_account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    project.add_zap(contact_zap("import", sf="salesforce", ct="clevertap", start="all"))
    project.store.max_keys_per_zap = KEY_CAP
    emails = org.add_contacts(2_000)  # one CreatedDate for all of them
    with caplog.at_level("WARNING", logger="zaplite.engine"):
        [first] = project.run_once("import")
    assert first.status == "ok", first.message
    assert first.delivered == 2_000
    assert any(
        "max_keys_per_zap" in record.getMessage() and "import" in record.getMessage()
        for record in caplog.records
    ), "the limit is said when hit"
    for _ in range(3):
        [again] = project.run_once("import")
        assert (again.status, again.found, again.delivered) == ("ok", 0, 0), again.message
    uploaded = ct_account.uploaded()
    assert set(uploaded) == set(emails) and max(uploaded.values()) == 1
    # Contacts created afterwards are still found, once.
    org.emu.create_many(
        "Contact", [{"LastName": f"Late {i}", "Email": f"late{i}@x.io"} for i in range(3)]
    )
    [later] = project.run_once("import")
    assert later.delivered == 3
    assert project.run_once("import")[0].found == 0


def test_a_mass_update_larger_than_the_key_memory_fires_once_per_record(
    project: ZapliteProject, org: Org, ct_account: Account
) -> None:
    zap = contact_zap("updates", sf="salesforce", ct="clevertap", start="now")
    zap["trigger"] = {
        "app": "salesforce",
        "event": "updated_record",
        "connection": "salesforce",
        "params": {"object": "Contact", "fields": ["FirstName", "LastName", "Email"]},
        "start": "now",
    }
    project.add_zap(zap)
    records = org.emu.create_many(
        "Contact",
        [{"LastName": f"P{i}", "Email": f"p{i}@x.io"} for i in range(1_500)],
        timestamp=datetime.now(UTC) - timedelta(days=1),
    )
    assert project.run_once("updates")[0].status == "ok"
    project.store.max_keys_per_zap = KEY_CAP
    stamp = datetime.now(UTC).replace(microsecond=0)
    for record in records:  # one mass update: one SystemModstamp for all of them
        org.emu.update("Contact", record["Id"], {"FirstName": "Bulk"}, timestamp=stamp)
    [run] = project.run_once("updates")
    assert run.status == "ok" and run.delivered == 1_500, run.message
    for _ in range(2):
        assert project.run_once("updates")[0].found == 0
    uploaded = ct_account.uploaded()
    assert len(uploaded) == 1_500 and max(uploaded.values()) == 1


def _deleted_identities(account: Account) -> Counter[str]:
    """How often each identity was named in a profile deletion the emulator processed."""
    seen: Counter[str] = Counter()
    for request in account.emu.requests:
        body = request.get("body")
        if request.get("status") == 200 and isinstance(body, dict) and "identity" in body:
            names = body["identity"] if isinstance(body["identity"], list) else [body["identity"]]
            seen.update(str(name) for name in names)
    return seen


def test_a_mass_delete_larger_than_the_key_memory_fires_once_per_record(
    project: ZapliteProject, org: Org, ct_account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """A data cleanup deletes 2,000 contacts with one SystemModstamp, past a 500-key memory."""
    project.add_zap(
        {
            "id": "cleanup",
            "schedule": {"every": "5m"},
            "trigger": {
                "app": "salesforce",
                "event": "deleted_record",
                "connection": "salesforce",
                "params": {"object": "Contact", "fields": ["Email"]},
                "start": "now",
            },
            "steps": [
                {
                    "id": "forget",
                    "app": "clevertap",
                    "action": "delete_profile",
                    "connection": "clevertap",
                    "params": {"identity": "{{trigger.Email}}"},
                }
            ],
        }
    )
    emails = [org.email(i) for i in range(2_000)]
    org.emu.create_many(
        "Contact",
        [{"LastName": f"C{i}", "Email": email} for i, email in enumerate(emails)],
        timestamp=datetime.now(UTC) - timedelta(days=1),
    )
    assert project.run_once("cleanup")[0].status == "ok"
    project.store.max_keys_per_zap = KEY_CAP
    stamp = datetime.now(UTC).replace(microsecond=0)
    for contact in org.emu.records("Contact"):  # one cleanup: one SystemModstamp for all
        org.emu.delete("Contact", contact["Id"], timestamp=stamp)
    with caplog.at_level("WARNING", logger="zaplite.engine"):
        [run] = project.run_once("cleanup")
    assert run.status == "ok" and run.delivered == 2_000, run.message
    said = [r.getMessage() for r in caplog.records if "max_keys_per_zap" in r.getMessage()]
    assert said and "cleanup" in said[0], "the limit is said when hit"
    assert "moves past the records read so far" in said[0], said[0]
    # The next polls neither deliver nor read the 2,000 deletions again: the cursor moved
    # past them, where a memory that kept all their keys would read them at every poll.
    next_pages = org.count("/queryAll/")
    for _ in range(3):
        [again] = project.run_once("cleanup")
        assert (again.status, again.found, again.delivered) == ("ok", 0, 0), again.message
    assert org.count("/queryAll/") == next_pages, "a later poll read the deletions again"
    deleted = _deleted_identities(ct_account)
    assert set(deleted) == set(emails) and max(deleted.values()) == 1
    # A contact deleted afterwards is still found, once.
    late = org.emu.create("Contact", {"LastName": "Late", "Email": "late@x.io"})
    org.emu.delete("Contact", late["Id"])
    assert project.run_once("cleanup")[0].delivered == 1
    assert project.run_once("cleanup")[0].found == 0
    assert _deleted_identities(ct_account)["late@x.io"] == 1
