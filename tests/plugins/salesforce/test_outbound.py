"""The instant ``outbound_message`` trigger: the emulated org pushes, the daemon stores, acks, delivers.

Everything runs over real HTTP: the Salesforce emulator sends its outbound messages to
the daemon's server (``serve_project``: ``zaplite run --http`` in a thread), which
delivers to the CleverTap emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import zaplite_clevertap
import zaplite_salesforce

from tests.support.emulators import Account, Org
from tests.support.served import Served, serve_project, wait_until
from zaplite.sandbox.salesforce.outbound import Pending, Registration, notifications_xml
from zaplite.testing import ZapliteProject

TOKEN = "outbound-test-token-0123"
ZAP = "instant"
FIELDS = ["Id", "FirstName", "LastName", "Email"]


def instant_zap(zap_id: str = ZAP, **params: Any) -> dict[str, Any]:
    """A zap: an outbound message of a new contact → a CleverTap profile keyed by email."""
    return {
        "id": zap_id,
        "schedule": {"every": "1h"},  # nothing waits for a tick: messages wake the zap
        "trigger": {
            "app": "salesforce",
            "event": "outbound_message",
            "connection": "salesforce",
            "params": {"object": "Contact", "fields": FIELDS, "token": TOKEN, **params},
        },
        "steps": [
            {
                "id": "profile",
                "app": "clevertap",
                "action": "upload_profile",
                "connection": "clevertap",
                "params": {
                    "identity": "{{trigger.Email}}",
                    "profile": {"Name": "{{trigger.FirstName}} {{trigger.LastName}}"},
                },
            }
        ],
    }


@pytest.fixture
def project(tmp_path: Path, org: Org, ct_account: Account) -> Iterator[ZapliteProject]:
    """A project wired to both emulators, with the instant zap."""
    project = ZapliteProject(tmp_path / "project")
    project.use_plugins(zaplite_salesforce, zaplite_clevertap)
    project.add_connection("salesforce", "salesforce", **org.connection())
    project.add_connection("clevertap", "clevertap", **ct_account.connection())
    project.add_zap(instant_zap())
    try:
        yield project
    finally:
        project.close()


@pytest.fixture
def served(project: ZapliteProject, org: Org) -> Iterator[Served]:
    """The daemon serving HTTP; the emulator's outbound message of new contacts points at it."""
    running = serve_project(project)
    org.emu.outbound.retry_initial, org.emu.outbound.retry_max = 0.05, 0.2
    try:
        yield running
    finally:
        org.emu.outbound.stop()
        running.stop()


def _message(org: Org, ids: list[str], emails: list[str], org_id: str | None = None) -> bytes:
    registration = Registration("04kRO0000000001AAA", "Contact", FIELDS, "unused")
    pending = [
        Pending(notification, registration.id, {"Id": f"003RO{i:013d}", "Email": email})
        for i, (notification, email) in enumerate(zip(ids, emails, strict=True))
    ]
    return notifications_xml(org_id or org.emu.org_id, registration, pending)


def _post(served: Served, body: bytes, token: str = TOKEN, zap_id: str = ZAP) -> httpx.Response:
    return httpx.post(served.hook(zap_id, token), content=body, timeout=30)


def test_a_new_contact_reaches_clevertap_and_every_message_is_acked_once(
    org: Org, ct_account: Account, served: Served, project: ZapliteProject
) -> None:
    org.emu.outbound.register("Contact", FIELDS, served.hook(ZAP, TOKEN))
    contact = org.emu.create("Contact", {"FirstName": "Ada", "LastName": "L", "Email": "ada@x.com"})
    wait_until(lambda: "ada@x.com" in ct_account.emu.profiles)
    assert ct_account.emu.profiles["ada@x.com"]["profileData"] == {"Name": "Ada L"}
    assert org.emu.outbound.wait_idle()
    stats = org.emu.outbound.stats()
    assert list(stats["acks"].values()) == [1] and stats["pending"] == []
    [task] = wait_until(project.tasks)  # recorded right after the upload
    assert task.status == "success" and task.record["Id"] == contact["Id"]
    assert task.record["_notification"]["OrganizationId"] == org.emu.org_id
    assert org.queries() == 0  # instant: no Salesforce query was made


def test_a_notification_sent_again_is_acked_and_delivered_once(
    org: Org, ct_account: Account, served: Served, project: ZapliteProject
) -> None:
    org.emu.outbound.register("Contact", FIELDS, served.hook(ZAP, TOKEN))
    org.emu.create("Contact", {"LastName": "Twice", "Email": "twice@x.com"})
    wait_until(lambda: "twice@x.com" in ct_account.emu.profiles)
    assert org.emu.outbound.wait_idle()
    [notification] = org.emu.outbound.stats()["acks"]
    org.emu.outbound.resend(notification)  # as after an Ack that did not reach Salesforce
    assert org.emu.outbound.wait_idle()
    assert org.emu.outbound.stats()["acks"] == {notification: 2}
    wait_until(lambda: not served.engine.store.undelivered(ZAP))
    assert ct_account.uploaded()["twice@x.com"] == 1
    assert len(wait_until(project.tasks)) == 1


def test_a_bulk_insert_arrives_as_one_message_and_one_batch(
    org: Org, ct_account: Account, served: Served
) -> None:
    org.emu.outbound.register("Contact", FIELDS, served.hook(ZAP, TOKEN))
    org.add_contacts(100)
    wait_until(lambda: len(ct_account.emu.profiles) == 100)
    assert org.emu.outbound.wait_idle()
    attempts = org.emu.outbound.stats()["attempts"]
    assert [len(a["notifications"]) for a in attempts if a["acked"]] == [100]
    uploads = [r for r in ct_account.emu.requests if r["status"] == 200]
    assert len(uploads) == 1 and len(uploads[0]["body"]["d"]) == 100


def test_wrong_token_wrong_org_unknown_zap_and_malformed_bodies_get_faults_and_no_ack(
    org: Org, served: Served, project: ZapliteProject
) -> None:
    body = _message(org, ["04lRO0000000001AAA"], ["a@x.com"])
    for token in ("nope", ""):
        refused = _post(served, body, token=token)
        assert refused.status_code == 403 and "<faultstring>" in refused.text
        assert "Ack" not in refused.text
    other_org = _message(org, ["04lRO0000000002AAA"], ["b@x.com"], org_id="00DRO0000000009EAA")
    wrong = _post(served, other_org)
    assert wrong.status_code == 500 and "00DRO0000000009EAA" in wrong.text
    unknown = _post(served, body, zap_id="nothing-here")
    assert unknown.status_code == 404
    for broken in (b"<not xml", body.replace(b"<Id>04l", b"<Idx>04l"), b""):
        answer = _post(served, broken)
        assert answer.status_code == 500 and "malformed outbound message" in answer.text
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert _post(served, bomb).status_code == 500
    assert served.engine.store.recent_received(ZAP, 10) == []
    assert project.tasks() == []


def test_an_org_listed_in_the_zap_is_accepted(
    org: Org, ct_account: Account, project: ZapliteProject
) -> None:
    project.add_zap(instant_zap("listed", organization_ids=["00DRO0000000009EAA"]))
    served = serve_project(project)
    try:
        body = _message(org, ["04lRO0000000003AAA"], ["c@x.com"], org_id="00DRO0000000009")
        answer = httpx.post(served.hook("listed", TOKEN), content=body, timeout=30)
        assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text
        wait_until(lambda: "c@x.com" in ct_account.emu.profiles)
        assert org.tokens() == 0  # the listed org needed no sign-in to check
    finally:
        served.stop()


def test_a_store_that_cannot_write_answers_500_and_salesforce_retries_until_it_can(
    org: Org, ct_account: Account, served: Served
) -> None:
    store = served.engine.store
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE received RENAME TO received_away"))
    org.emu.outbound.register("Contact", FIELDS, served.hook(ZAP, TOKEN))
    org.emu.create("Contact", {"LastName": "Later", "Email": "later@x.com"})
    wait_until(lambda: len(org.emu.outbound.stats()["attempts"]) >= 2)
    stats = org.emu.outbound.stats()
    assert all(a["status"] == 500 and not a["acked"] for a in stats["attempts"])
    assert stats["acks"] == {} and len(stats["pending"]) == 1
    assert "later@x.com" not in ct_account.emu.profiles
    with store.engine.begin() as connection:  # the store is back
        connection.execute(sa.text("ALTER TABLE received_away RENAME TO received"))
    wait_until(lambda: "later@x.com" in ct_account.emu.profiles)
    assert org.emu.outbound.wait_idle()
    assert list(org.emu.outbound.stats()["acks"].values()) == [1]


def test_stored_but_undelivered_notifications_are_delivered_when_the_daemon_starts(
    org: Org, ct_account: Account, project: ZapliteProject
) -> None:
    # A server without its daemon stores and acknowledges, and delivers nothing: the same
    # state as a daemon that crashed between the store write and the delivery.
    console = serve_project(project, daemon=False)
    try:
        body = _message(org, ["04lRO0000000004AAA", "04lRO0000000005AAA"], ["d@x.com", "e@x.com"])
        answer = _post(console, body)
        assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text
    finally:
        console.stop()
    assert ct_account.emu.profiles == {}
    assert len(project.store.undelivered(ZAP)) == 2
    daemon = serve_project(project)
    try:
        wait_until(lambda: {"d@x.com", "e@x.com"} <= set(ct_account.emu.profiles))
        wait_until(lambda: not project.store.undelivered(ZAP))
    finally:
        daemon.stop()
    assert sorted(t.record["Email"] for t in wait_until(project.tasks)) == ["d@x.com", "e@x.com"]


def test_test_trigger_shows_the_stored_notifications_or_says_how_to_send_one(
    org: Org, project: ZapliteProject
) -> None:
    shown = project.cli("test-trigger", ZAP, "--json")
    assert shown.exit_code == 0, shown.output
    assert '"built_in_sample": true' in shown.output and "received nothing yet" in shown.output
    project.store.receive(ZAP, [("04lA", {"Id": "003A", "Email": "f@x.com"})])
    shown = project.cli("test-trigger", ZAP)
    assert shown.exit_code == 0 and "f@x.com" in shown.output
    assert "received nothing yet" not in shown.output


def test_validate_warns_when_no_http_server_is_configured(project: ZapliteProject) -> None:
    checked = project.cli("validate")
    assert checked.exit_code == 0, checked.output
    assert "instant" in checked.output and "[http] listen is not set" in checked.output


def test_a_token_from_an_unset_variable_is_a_clear_error(
    project: ZapliteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTBOUND_TOKEN_FOR_TEST", raising=False)
    project.add_zap(instant_zap("env", token="${OUTBOUND_TOKEN_FOR_TEST}"))
    checked = project.cli("validate")
    assert checked.exit_code == 2
    assert "environment variable OUTBOUND_TOKEN_FOR_TEST is not set" in checked.output
    monkeypatch.setenv("OUTBOUND_TOKEN_FOR_TEST", "x" * 20)
    project.add_zap(instant_zap("env", token="${OUTBOUND_TOKEN_FOR_TEST}"))
    assert project.cli("validate").exit_code == 0


def test_more_stored_notifications_than_one_poll_takes_are_all_delivered_by_one_run(
    ct_account: Account, project: ZapliteProject
) -> None:
    records = [
        {"Id": f"003RO{i:013d}", "Email": f"bulk{i}@x.com", "_notification": {"Id": f"04l{i}"}}
        for i in range(1500)
    ]
    trigger = zaplite_salesforce.app.triggers["outbound_message"]
    assert project.store.receive(ZAP, [(trigger.key_of(r), r) for r in records]) == 1500
    [result] = project.run_once(ZAP)
    assert (result.status, result.delivered, result.pages) == ("ok", 1500, 2)
    assert len(ct_account.emu.profiles) == 1500
    assert project.store.undelivered(ZAP) == []
    [again] = project.run_once(ZAP)
    assert again.found == 0 and len(project.tasks()) == 1500


def _received_metric(served: Served) -> dict[tuple[str, str], float]:
    """``zaplite_received_records_total`` as ``/metrics`` serves it, by (zap, outcome)."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(f"{served.url}metrics", timeout=30)
    assert answer.status_code == 200
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "zaplite_received_records_total":
                counts[(sample.labels["zap"], sample.labels["outcome"])] = sample.value
    return counts


def test_metrics_count_the_notifications_stored_repeated_and_the_messages_refused(
    org: Org, ct_account: Account, served: Served
) -> None:
    assert _received_metric(served) == {}
    two = _message(org, ["04lRO0000000006AAA", "04lRO0000000007AAA"], ["g@x.com", "h@x.com"])
    assert _post(served, two).status_code == 200
    assert _received_metric(served) == {(ZAP, "stored"): 2}
    assert _post(served, two).status_code == 200  # repeated after a lost Ack
    wait_until(lambda: {"g@x.com", "h@x.com"} <= set(ct_account.emu.profiles))
    assert _received_metric(served) == {(ZAP, "stored"): 2, (ZAP, "repeated"): 2}
    other_org = _message(org, ["04lRO0000000008AAA"], ["i@x.com"], org_id="00DRO0000000009EAA")
    refused = [
        _post(served, two, token="wrong-token-0000000000"),
        _post(served, b"<not xml"),
        _post(served, other_org),
    ]
    assert [r.status_code for r in refused] == [403, 500, 500]
    assert _post(served, two, zap_id="no-such-zap").status_code == 404  # no series for it
    assert _received_metric(served) == {
        (ZAP, "stored"): 2,
        (ZAP, "repeated"): 2,
        (ZAP, "refused"): 3,
    }
    store = served.engine.store
    with store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE received RENAME TO received_away"))
    try:
        three = _message(org, ["04lRO0000000009AAA"], ["j@x.com"])
        assert _post(served, three).status_code == 500
    finally:
        with store.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE received_away RENAME TO received"))
    assert _received_metric(served)[(ZAP, "failed")] == 1


def test_a_message_received_while_the_zap_delivers_runs_it_again_straight_after(
    org: Org, ct_account: Account, served: Served, project: ZapliteProject
) -> None:
    ct_account.emu.latency = 1.0  # the first message's upload keeps its run in flight
    assert _post(served, _message(org, ["04lRO0000000011AAA"], ["first@x.com"])).status_code == 200
    wait_until(lambda: ct_account.emu.upload_count >= 1)  # its upload has started
    second = _message(org, ["04lRO0000000012AAA"], ["second@x.com"])
    assert _post(served, second).status_code == 200  # stored while the run is in flight
    # The zap's schedule is hourly: only a run straight after the first one brings it.
    wait_until(lambda: "second@x.com" in ct_account.emu.profiles, timeout=20)
    assert "first@x.com" in ct_account.emu.profiles
