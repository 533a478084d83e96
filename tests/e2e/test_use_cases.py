"""The three use cases end to end: the installed CLI against the sandbox emulators."""

from __future__ import annotations

import json
import re

from zaplite.sandbox.activity import SalesActivity


def test_validate_accepts_the_example_zaps(cli):
    out = cli("validate")
    assert out.returncode == 0, out.stderr
    assert "6 zap(s) and 2 connection(s) are valid." in out.stdout


def test_connections_test_signs_in_to_both(cli, sandbox):
    rows = cli.json("connections", "--test")
    assert {row["name"]: row["test"]["ok"] for row in rows} == {
        "salesforce": True,
        "clevertap": True,
    }
    assert sandbox.salesforce.credentials.client_secret not in json.dumps(rows)
    assert all(row["settings"].get("passcode", "****") == "****" for row in rows)


def test_test_trigger_shows_three_samples_and_test_step_sends(cli, sandbox):
    shown = cli.json("test-trigger", "new-contact-to-profile")
    assert shown["built_in_sample"] is False
    samples = shown["records"]
    assert len(samples) == 3
    assert all(set(s) >= {"Id", "Email", "FirstName", "LastName"} for s in samples)
    newest = sorted(sandbox.salesforce.records("Contact"), key=lambda r: r["CreatedDate"])[-1]
    assert samples[0]["Id"] == newest["Id"]

    dry = cli.json("test-step", "new-contact-to-profile", "--dry-run")
    assert dry["status"] == "dry-run"
    request = dry["request"]
    assert request["headers"]["X-CleverTap-Passcode"] != sandbox.clevertap.passcode
    [record] = request["json"]["d"]
    assert record["identity"] == samples[0]["Email"] and record["type"] == "profile"
    assert sandbox.clevertap.upload_count == 0

    sent = cli("test-step", "new-contact-to-profile", "profile")
    assert sent.returncode == 0, sent.stderr
    assert "Response:" in sent.stdout and "success" in sent.stdout
    profile = sandbox.clevertap.profiles[samples[0]["Email"]]["profileData"]
    assert profile["Name"] == f"{samples[0]['FirstName']} {samples[0]['LastName']}"
    assert sandbox.clevertap.passcode not in sent.stdout + sent.stderr


def test_run_once_delivers_all_three_use_cases(cli, sandbox):
    emu, ct = sandbox.salesforce, sandbox.clevertap
    baseline = cli("run", "--once")
    assert baseline.returncode == 0, baseline.stderr
    assert ct.upload_count == 0  # "now": existing records do not fire

    contact = emu.create(
        "Contact",
        {
            "FirstName": "Nia",
            "LastName": "Okoro",
            "Email": "nia.okoro@example.com",
            "Phone": "+442071234567",
            "Lead_Status__c": "Qualified",
        },
    )
    lead = next(r for r in emu.records("Lead") if r["Status"] == "Open - Not Contacted")
    emu.update("Lead", lead["Id"], {"Status": "Working - Contacted"})
    deal = next(r for r in emu.records("Opportunity") if r["StageName"] == "Prospecting")
    emu.update("Opportunity", deal["Id"], {"StageName": "Qualification"})
    won = next(r for r in emu.records("Opportunity") if not r["IsClosed"] and r["Id"] != deal["Id"])
    emu.update("Opportunity", won["Id"], {"StageName": "Closed Won", "CloseDate": "2026-11-20"})

    out = cli("run", "--once")
    assert out.returncode == 0, out.stdout + out.stderr

    # Use case 1: a new contact becomes a profile with the guide's fields.
    profile = ct.profiles["nia.okoro@example.com"]
    assert profile["profileData"] == {
        "Name": "Nia Okoro",
        "Email": "nia.okoro@example.com",
        "Phone": "+442071234567",
        "Lead Status": "Qualified",
        "Salesforce Contact Id": contact["Id"],
    }
    assert profile["ts"] == int(contact["CreatedDate"].timestamp())
    # Use case 2: the lead's new status and the deal's new stage reach the profiles.
    assert ct.profiles[lead["Email"]]["profileData"]["Lead Status"] == "Working - Contacted"
    deal_contact = emu.get("Contact", deal["ContactId"])
    assert ct.profiles[deal_contact["Email"]]["profileData"]["Deal Stage"] in (
        "Qualification",
        "Closed Won",
    )
    # Use case 3: the closed-won deal becomes a "Deal Closed" event.
    won_contact = emu.get("Contact", won["ContactId"])
    [event] = [e for e in ct.events if e["evtName"] == "Deal Closed"]
    owner = emu.get("User", won["OwnerId"])
    assert event["identity"] == won_contact["Email"]
    assert event["evtData"]["Amount"] == won["Amount"]
    assert event["evtData"]["Close Date"] == "$D_1795132800"  # 2026-11-20 00:00 UTC
    assert event["evtData"]["Stage"] == "Closed Won"
    assert event["evtData"]["Salesperson"] == f"{owner['FirstName']} {owner['LastName']}"

    uploads = ct.upload_count
    again = cli("run", "--once")
    assert again.returncode == 0
    assert ct.upload_count == uploads
    assert re.findall(r": ok: (\d+) new", again.stdout) == ["0", "0", "0", "0", "0"]

    history = cli.json("history", "--limit", "50")
    assert {t["zap"] for t in history} == {
        "new-contact-to-profile",
        "lead-status-to-profile",
        "opportunity-stage-to-profile",
        "closed-won-to-event",
    }
    text = cli("history")
    assert "new-contact-to-profile" in text.stdout and "success" in text.stdout


def test_a_failed_task_succeeds_on_replay_after_the_mapping_is_fixed(cli, sandbox):
    emu, ct = sandbox.salesforce, sandbox.clevertap
    cli("run", "--once", "new-contact-to-profile")
    emu.create("Contact", {"FirstName": "No", "LastName": "Email", "Phone": "+14155550123"})
    out = cli("run", "--once", "new-contact-to-profile")
    assert out.returncode == 1
    [failed] = cli.json("history", "--status", "failed")
    assert "identity" in failed["error"] and "object_id" in failed["error"]

    zap_file = cli.root / "zaps" / "new-contact-to-profile.json"
    zap = json.loads(zap_file.read_text())
    zap["steps"][0]["params"]["object_id"] = "sf-{{trigger.Id}}"
    zap_file.write_text(json.dumps(zap))
    replay = cli("replay", str(failed["id"]))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"task {failed['id']}: success" in replay.stdout
    assert any(key.startswith("sf-003") for key in ct.profiles)
    [task] = [t for t in cli.json("history") if t["id"] == failed["id"]]
    assert task["status"] == "success" and task["attempts"] == 2


def test_sandbox_activity_keeps_the_zaps_busy(cli, sandbox):
    cli("run", "--once")
    activity = SalesActivity(sandbox.salesforce, seed=1)
    for _ in range(3):
        activity.tick()
    out = cli("run", "--once")
    assert out.returncode == 0, out.stderr
    delivered = sum(int(n) for n in re.findall(r"(\d+) delivered", out.stdout))
    assert delivered >= 3


def test_a_contact_deleted_in_salesforce_disappears_from_clevertap(cli, sandbox):
    emu, ct = sandbox.salesforce, sandbox.clevertap
    deletion = "contact-deleted-to-profile-deletion"
    zap_file = cli.root / "zaps" / f"{deletion}.json"
    zap = json.loads(zap_file.read_text())
    assert zap["enabled"] is False  # shipped off: it deletes data
    zap["enabled"] = True
    zap_file.write_text(json.dumps(zap))
    cli("run", "--once")
    contact = emu.create("Contact", {"LastName": "Gone", "Email": "gone.soon@example.com"})
    cli("run", "--once", "new-contact-to-profile")
    assert "gone.soon@example.com" in ct.profiles

    emu.delete("Contact", contact["Id"])
    out = cli("run", "--once", deletion)  # one poll of the deletion zap
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{deletion}: ok: 1 new, 1 delivered" in out.stdout
    assert "gone.soon@example.com" not in ct.profiles
    again = cli("run", "--once", deletion)
    assert f"{deletion}: ok: 0 new" in again.stdout
    [task] = [t for t in cli.json("history") if t["zap"] == deletion]
    assert task["status"] == "success"
