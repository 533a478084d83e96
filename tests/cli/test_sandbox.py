"""``zaplite sandbox`` as a person starts it again and again: what it keeps, what it refuses."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.cli import Cli, stop

PORTS = ("--salesforce-port", "0", "--clevertap-port", "0")


def _start_and_stop(root: Path, *args: str) -> str:
    """Start ``zaplite sandbox ARGS`` until it says how to use it, then Ctrl-C; its stdout."""
    process = Cli(root).start("sandbox", *args)
    try:
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops the sandbox." not in seen and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen += line
    finally:
        out, err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    return seen + out + err


def test_a_restart_keeps_an_edited_config_and_says_so(tmp_path: Path) -> None:
    first = _start_and_stop(tmp_path, *PORTS)
    folder = tmp_path / "zaplite-sandbox"
    config = folder / "zaplite.toml"
    assert f"Wrote {Path('zaplite-sandbox') / 'zaplite.toml'} for these emulators." in first
    assert "Wrote the example zaps in" in first
    # Unedited: a restart writes it again, for the new ports.
    again = _start_and_stop(tmp_path, *PORTS)
    assert "for these emulators." in again and "Kept the zaps in" in again
    edited = config.read_text().replace('api_version = "64.0"', 'api_version = "65.0"')
    config.write_text(edited + "\n# my note\n")
    kept = _start_and_stop(tmp_path, *PORTS)
    assert config.read_text() == edited + "\n# my note\n"
    assert "Kept zaplite-sandbox/zaplite.toml: it was edited since a sandbox wrote it." in kept
    assert "Wrote" not in kept


def test_a_restart_says_it_reset_the_store(tmp_path: Path) -> None:
    _start_and_stop(tmp_path, *PORTS)
    (tmp_path / "zaplite-sandbox" / "zaplite.db").write_bytes(b"")
    out = _start_and_stop(tmp_path, *PORTS)
    assert "Removed the old store (zaplite.db): the emulators start afresh" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--salesforce-port", "99999"), "--salesforce-port"),
        (("--clevertap-port", "-5"), "--clevertap-port"),
        (("--activity", "--every", "-1"), "--every"),
    ],
)
def test_bad_numbers_are_refused_before_anything_is_made(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    out = Cli(tmp_path)("sandbox", *args, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert named in out.stderr and "Traceback" not in out.stderr
    assert "Internal error" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_busy_port_is_said_not_silently_replaced(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _start_and_stop(tmp_path, "--salesforce-port", str(port), "--clevertap-port", "0")
    assert f"Port {port} is busy: the Salesforce emulator is on port " in out


def _serve(root: Path) -> subprocess.Popen[str]:
    """A sandbox on free ports, running until stopped; its folder is root/zaplite-sandbox."""
    process = Cli(root).start("sandbox", *PORTS)
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "Ctrl-C stops the sandbox." not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    assert "Ctrl-C stops the sandbox." in seen, seen
    return process


def test_a_person_adds_a_contact_and_closes_a_deal_and_the_zaps_deliver_them(
    tmp_path: Path,
) -> None:
    process = _serve(tmp_path)
    try:
        cli = Cli(tmp_path / "zaplite-sandbox")
        assert cli("run", "--once").returncode == 0  # the zaps start from now
        added = cli(
            "sandbox",
            "add",
            "contact",
            "--email",
            "ada@example.com",
            "--last-name",
            "Lovelace",
            "--first-name",
            "Ada",
        )
        assert added.returncode == 0, added.stderr
        lines = added.stdout.splitlines()
        assert lines[0].startswith("Created Contact 003") and lines[0].endswith(":")
        assert "  Email: ada@example.com" in lines and "  LastName: Lovelace" in lines
        listed = cli("sandbox", "list", "opportunities", "--limit", "20", "--json")
        assert listed.returncode == 0, listed.stderr
        deal = next(d for d in json.loads(listed.stdout) if not d["IsClosed"])
        staged = cli("sandbox", "stage", deal["Id"], "closed won")
        assert staged.returncode == 0, staged.stderr
        assert f"Updated Opportunity {deal['Id']}:" in staged.stdout
        assert "  StageName: Closed Won" in staged.stdout
        lead = cli(
            "sandbox",
            "add",
            "lead",
            "--last-name",
            "Hopper",
            "--company",
            "Navy",
            "--email",
            "grace@example.com",
        )
        assert lead.returncode == 0 and "  Company: Navy" in lead.stdout
        run = cli("run", "--once")
        assert run.returncode == 0, run.stderr
        assert "new-contact-to-profile: ok: 1 new, 1 delivered" in run.stdout
        assert "closed-won-to-event: ok: 1 new, 1 delivered" in run.stdout
        history = json.loads(cli("history", "--json").stdout)
        assert {t["record"].get("Email") for t in history} >= {"ada@example.com"}
        bad = cli("sandbox", "stage", deal["Id"], "Won")
        assert bad.returncode == 2 and '"Won" is not a stage; one of: Prospecting' in bad.stderr
        missing = cli("sandbox", "stage", "006000000000000AAA", "Closed Won")
        assert missing.returncode == 2
        assert "There is no Opportunity 006000000000000AAA in the sandbox" in missing.stderr
        imported = cli("sandbox", "import", "contacts", "12000")
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.startswith("Imported 12,000 contacts into the sandbox in ")
        backlog = cli("run", "--once", "new-contact-to-profile", timeout=300)
        assert "new-contact-to-profile: ok: 12000 new, 12000 delivered" in backlog.stdout
    finally:
        stop(process, signal.SIGINT)


def test_a_person_deletes_a_contact_and_the_deleted_record_zap_delivers_it(
    tmp_path: Path,
) -> None:
    process = _serve(tmp_path)
    try:
        folder = tmp_path / "zaplite-sandbox"
        zap = folder / "zaps" / "contact-deleted-to-profile-deletion.json"
        zap.write_text(zap.read_text().replace('"enabled": false', '"enabled": true'))
        cli = Cli(folder)
        assert cli("run", "--once").returncode == 0  # the zaps start from now
        added = cli(
            "sandbox", "add", "contact", "--email", "gone@example.com", "--last-name", "Gone"
        )
        contact = added.stdout.splitlines()[0].split()[2].rstrip(":")
        assert cli("run", "--once").returncode == 0
        deleted = cli("sandbox", "delete", contact)
        assert deleted.returncode == 0, deleted.stderr
        lines = deleted.stdout.splitlines()
        assert lines[0] == f"Deleted Contact {contact}:"
        assert "  Email: gone@example.com" in lines and "  IsDeleted: true" in lines
        run = cli("run", "--once", "contact-deleted-to-profile-deletion")
        assert "contact-deleted-to-profile-deletion: ok: 1 new, 1 delivered" in run.stdout
        history = json.loads(cli("history", "--json").stdout)
        [task] = [t for t in history if t["zap"] == "contact-deleted-to-profile-deletion"]
        assert task["status"] == "success" and task["record"]["Id"] == contact
        assert task["record"]["Email"] == "gone@example.com"
        listed = json.loads(cli("sandbox", "list", "contacts", "--json", "--limit", "500").stdout)
        assert contact not in {c["Id"] for c in listed}

        again = cli("sandbox", "delete", contact)
        assert again.returncode == 2 and "Traceback" not in again.stderr
        assert again.stderr == (
            f"Error: {contact} is in the recycle bin already; "
            f"`zaplite sandbox undelete {contact}` restores it.\n"
        )
        restored = cli("sandbox", "undelete", contact, "--json")
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["IsDeleted"] is False
        twice = cli("sandbox", "undelete", contact)
        assert twice.returncode == 2 and "is not in the recycle bin" in twice.stderr
        unknown = cli("sandbox", "delete", "00QRO00000000002AA")
        assert unknown.returncode == 2
        assert "There is no record 00QRO00000000002AA in the sandbox at http" in unknown.stderr
        garbled = cli("sandbox", "undelete", "ada@example.com")
        assert garbled.returncode == 2
        assert '"ada@example.com" is not a Salesforce record id' in garbled.stderr

        deal = json.loads(cli("sandbox", "list", "opportunities", "--json").stdout)[0]
        gone = cli("sandbox", "delete", deal["Id"])  # any object's id
        assert gone.returncode == 0 and f"Deleted Opportunity {deal['Id']}:" in gone.stdout
        assert cli("run", "--once", "contact-deleted-to-profile-deletion").returncode == 0
        assert len(json.loads(cli("history", "--json").stdout)) == len(history)
    finally:
        stop(process, signal.SIGINT)


def test_a_person_makes_a_deal_and_closes_it_and_the_zap_sends_the_event(
    tmp_path: Path,
) -> None:
    process = _serve(tmp_path)
    try:
        cli = Cli(tmp_path / "zaplite-sandbox")
        assert cli("run", "--once").returncode == 0  # the zaps start from now
        [account] = json.loads(cli("sandbox", "list", "accounts", "--limit", "1", "--json").stdout)
        contact = json.loads(
            cli(
                "sandbox",
                "add",
                "contact",
                "--email",
                "buyer@example.com",
                "--last-name",
                "B",
                "--json",
            ).stdout
        )
        made = cli(
            "sandbox",
            "add",
            "opportunity",
            "--name",
            "Acme - Renewal",
            "--amount",
            "25000",
            "--stage",
            "needs analysis",
            "--account-id",
            account["Id"],
            "--contact-id",
            contact["Id"],
        )
        assert made.returncode == 0, made.stderr
        lines = made.stdout.splitlines()
        assert lines[0].startswith("Created Opportunity 006") and lines[0].endswith(":")
        deal = lines[0].split()[2].rstrip(":")
        assert "  StageName: Needs Analysis" in lines and "  Amount: 25000.0" in lines
        assert f"  AccountId: {account['Id']}" in lines and f"  ContactId: {contact['Id']}" in lines
        ahead = {f"  CloseDate: {date.today() + timedelta(days=d)}" for d in (29, 30)}
        assert ahead & set(lines)  # 30 days from the day it ran (a midnight may have passed)
        listed = json.loads(cli("sandbox", "list", "opportunities", "--json").stdout)
        assert listed[0]["Id"] == deal and listed[0]["IsClosed"] is False
        staged = cli("sandbox", "stage", deal, "Closed Won")
        assert staged.returncode == 0, staged.stderr
        run = cli("run", "--once", "closed-won-to-event")
        assert "closed-won-to-event: ok: 1 new, 1 delivered" in run.stdout, run.stdout
        [task] = json.loads(cli("history", "--json").stdout)
        assert task["record"]["Id"] == deal and task["record"]["Contact"]["Email"] == (
            "buyer@example.com"
        )
        won = cli(
            "sandbox",
            "add",
            "opportunity",
            "--name",
            "Won today",
            "--amount",
            "10",
            "--stage",
            "Closed Won",
            "--json",
        )
        today = date.today()
        assert json.loads(won.stdout)["CloseDate"] in {str(today), str(today - timedelta(days=1))}

        base = ("sandbox", "add", "opportunity", "--name", "X", "--amount", "1")
        refused = {
            ("--stage", "Won"): '"Won" is not a stage; one of: Prospecting',
            ("--stage", "Prospecting", "--account-id", contact["Id"]): (
                f"--account-id {contact['Id']}: there is no Account with that id in the sandbox"
            ),
            ("--stage", "Prospecting", "--contact-id", "buyer@example.com"): (
                "--contact-id buyer@example.com: there is no Contact with that id"
            ),
            ("--stage", "Prospecting", "--close-date", "31/12/2026"): "--close-date",
        }
        before = len(json.loads(cli("sandbox", "list", "deals", "--json", "--limit", "99").stdout))
        for args, said in refused.items():
            out = cli(*base, *args)
            assert out.returncode == 2, (args, out.stdout)
            assert said in out.stderr and "Traceback" not in out.stderr
        negative = cli(
            "sandbox",
            "add",
            "opportunity",
            "--name",
            "X",
            "--amount",
            "-5",
            "--stage",
            "Prospecting",
        )
        assert negative.returncode == 2 and "--amount" in negative.stderr
        after = json.loads(cli("sandbox", "list", "deals", "--json", "--limit", "99").stdout)
        assert len(after) == before  # a refused deal is never made
    finally:
        stop(process, signal.SIGINT)


def test_without_a_running_sandbox_the_commands_say_how_to_start_one(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    out = Cli(tmp_path)(
        "sandbox",
        "add",
        "contact",
        "--email",
        "a@example.com",
        "--last-name",
        "A",
        "--salesforce",
        url,
    )
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: No Salesforce sandbox answers at {url}: start one")
    for verb in ("delete", "undelete"):
        out = Cli(tmp_path)("sandbox", verb, "003RO000000GmbHYAS", "--salesforce", url)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert out.stderr.startswith(f"Error: No Salesforce sandbox answers at {url}: start one")
    assert list(tmp_path.iterdir()) == []


def test_the_demo_lists_every_deal_its_activity_creates() -> None:
    from zaplite.cli.sandbox import _activity_round
    from zaplite.sandbox.activity import SalesActivity
    from zaplite.sandbox.salesforce import SalesforceEmulator

    emulator = SalesforceEmulator()
    emulator.seed_demo_data()
    before = {deal["Id"] for deal in emulator.records("Opportunity")}
    lines = _activity_round(SalesActivity(emulator, seed=42), None)  # type: ignore[arg-type]
    created = [d for d in emulator.records("Opportunity") if d["Id"] not in before]
    assert created, "closing deals opens new ones"
    for deal in created:
        assert any(line.startswith(f"new deal {deal['Name']} → Prospecting") for line in lines)


def test_the_sandbox_is_found_from_a_local_config_never_from_a_real_org(tmp_path: Path) -> None:
    from zaplite.cli.sandbox_records import DEFAULT_URL, find_sandbox

    folder = tmp_path / "zaplite-sandbox"
    folder.mkdir()
    config = folder / "zaplite.toml"
    config.write_text('[connections.sf]\napp = "salesforce"\nlogin_url = "http://127.0.0.1:5555"\n')
    assert find_sandbox(None, folder) == "http://127.0.0.1:5555"
    assert find_sandbox("http://127.0.0.1:7/", folder) == "http://127.0.0.1:7"
    config.write_text(
        '[connections.sf]\napp = "salesforce"\nlogin_url = "https://login.salesforce.com"\n'
    )
    assert find_sandbox(None, folder) == DEFAULT_URL


@pytest.mark.parametrize(
    ("record_id", "said"),
    [
        ("003RO0000000001AAA", "its last 3 characters do not match the upper and lower case"),
        ("003RO000000GmbHYA", "(15 or 18 letters and digits, such as 003RO000000GmbHYAS)"),
    ],
)
def test_an_id_that_is_no_salesforce_id_is_refused_saying_why(
    tmp_path: Path, record_id: str, said: str
) -> None:
    out = Cli(tmp_path)("sandbox", "delete", record_id)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f'Error: "{record_id}" is not a Salesforce record id')
    assert said in out.stderr
    assert list(tmp_path.iterdir()) == []
