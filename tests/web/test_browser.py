"""The console in a real browser, on a daemon running against the emulators.

It sees the zaps, opens a failed task, replays it after the mapping is fixed and sees it
succeed, pauses a zap and sees the CLI report it paused, and finds a record holding
HTML shown as text. It saves screenshots next to the test's files; with
``ZAPLITE_UPDATE_SCREENSHOTS=1`` it also writes the two the README shows into ``docs/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import Cli, stop
from tests.support.paths import REPO
from tests.support.processes import wait_for
from zaplite.project.examples import copy_example_zaps
from zaplite.sandbox.activity import SalesActivity
from zaplite.sandbox.server import free_port
from zaplite.sandbox.session import SANDBOX_OUTBOUND_TOKEN, Sandbox

DOCS = REPO / "docs"
"""Where the README's screenshots live."""
BROKEN_ID = "vip-contact-to-profile"
POLLING = {
    BROKEN_ID,
    "new-contact-to-profile",
    "lead-status-to-profile",
    "closed-won-to-event",
    "opportunity-stage-to-profile",
}
"""The zaps whose records this test makes (the deletion and outbound ones get none)."""
XSS_FIRST = '<script>alert("xss")</script>'
XSS_LAST = '"><img src=x onerror=alert(1)>'


def _broken_zap(identity: str) -> dict[str, Any]:
    """New contacts → profiles, with ``identity`` mapped from ``identity`` (first a wrong field)."""
    return {
        "id": BROKEN_ID,
        "name": "New contact → VIP profile",
        "schedule": {"every": "2s"},
        "trigger": {
            "app": "salesforce",
            "event": "new_contact",
            "params": {"fields": ["Id", "FirstName", "LastName", "Email", "CreatedDate"]},
            "start": "now",
        },
        "steps": [
            {
                "id": "profile",
                "app": "clevertap",
                "action": "upload_profile",
                "params": {
                    "identity": identity,
                    "ts": "{{trigger.CreatedDate}}",
                    "profile": {"Name": "{{trigger.FirstName}} {{trigger.LastName}}", "VIP": True},
                },
            }
        ],
    }


def _screenshot(page: Any, tmp_path: Path, name: str, *, docs: bool = True) -> None:
    """Save a screenshot as ``name``; a README one into ``docs/`` too when asked to update them."""
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if docs and os.environ.get("ZAPLITE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name), full_page=True)


def _until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    return wait_for(check, timeout=timeout, interval=0.2, what=what)


@pytest.mark.slow
def test_the_console_in_a_browser(tmp_path: Path, browser_page: Any) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    folder = tmp_path / "project"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Sandbox.start(salesforce_port=0, clevertap_port=0) as box:
        box.write_config(folder)
        with (folder / "zaplite.toml").open("a") as config:
            config.write(f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
        copy_example_zaps(folder / "zaps", outbound_token=SANDBOX_OUTBOUND_TOKEN)
        for path in (folder / "zaps").glob("*.json"):
            zap = json.loads(path.read_text())
            zap["schedule"] = {"every": "2s"}
            path.write_text(json.dumps(zap))
        broken = folder / "zaps" / f"{BROKEN_ID}.json"
        broken.write_text(json.dumps(_broken_zap("{{trigger.Email_Address__c}}")))
        cli = Cli(folder)
        daemon = cli.start("run")
        try:
            _until(lambda: _ready(base), "the daemon's /readyz")
            # Each zap's first poll ("now") sets where it starts: the records below must
            # come after it, however long a busy machine takes to get there.
            _until(lambda: _polled(base) >= POLLING, "every polling zap's first poll")
            activity = SalesActivity(box.salesforce, seed=3)
            for _ in range(3):
                activity.new_contact()
                activity.advance_lead()
                activity.advance_opportunity(win=True)
            xss = box.salesforce.create(
                "Contact",
                {"FirstName": XSS_FIRST, "LastName": XSS_LAST, "Email": "xss@example.com"},
            )
            _until(lambda: _failed(base) >= 4, "the broken zap's failed tasks")

            # The Zaps page: every zap, the broken one with its failures.
            page.goto(base + "/")
            rows = page.locator("tr.zap-row")
            assert rows.count() == 7  # the six examples and the broken zap
            broken_row = page.locator(f'tr[data-zap="{BROKEN_ID}"]')
            assert broken_row.locator(".count.failed.some").inner_text() == "4"
            assert broken_row.locator(".run").inner_text() == "finished with failures"
            assert "delivered" in page.locator('tr[data-zap="new-contact-to-profile"]').inner_text()
            _screenshot(page, tmp_path, "console-zaps.png")

            # The page refreshes itself while open: a new contact's delivery shows up.
            contacts = page.locator('tr[data-zap="new-contact-to-profile"] .count.success')
            before = int(contacts.inner_text())
            activity.new_contact()
            _until(lambda: int(contacts.inner_text()) > before, "the Zaps page to refresh", 30)
            assert page.url == base + "/"  # no navigation: the table was replaced in place

            # A failed task: the error says what is wrong with the mapping.
            page.click(f'a[href="/zaps/{BROKEN_ID}"]')
            page.select_option("select[name=status]", "failed")
            page.click("form.filters button")
            page.wait_for_url(re.compile(r"status=failed"))
            xss_key = xss["Id"]
            page.click(f'tr.task-row:has-text("{xss_key}") a')
            record = page.locator("pre.record").inner_text()  # the record's JSON, as text
            assert json.dumps(XSS_FIRST) in record and json.dumps(XSS_LAST) in record
            assert page.locator("img[src=x]").count() == 0 and not dialogs
            error = page.locator(".error-box").first.inner_text()
            assert "identity" in error
            _screenshot(page, tmp_path, "console-failed-task.png", docs=False)

            # Fix the mapping; the daemon reloads it; Replay succeeds.
            broken.write_text(json.dumps(_broken_zap("{{trigger.Email}}")))
            _until(
                lambda: (
                    "{{trigger.Email}}" in httpx.get(f"{base}/zaps/{BROKEN_ID}").text
                    and "Email_Address__c" not in httpx.get(f"{base}/zaps/{BROKEN_ID}").text
                ),
                "the daemon to reload the fixed zap",
            )
            page.click("button:has-text('Replay')")
            page.wait_for_url(re.compile(r"done=task"))
            assert re.search(r"task \d+: success", page.locator(".flash").inner_text())
            assert page.locator("h1 .run").inner_text() == "success"
            assert "xss@example.com" in box.clevertap.profiles
            _screenshot(page, tmp_path, "console-task.png")

            # Pause a zap in the console; the CLI reports it paused.
            page.goto(f"{base}/zaps/new-contact-to-profile")
            page.click("button:has-text('Pause')")
            page.wait_for_url(re.compile(r"done="))
            assert page.locator("h1 .badge").inner_text() == "paused"
            history = cli("history", "--zap", "new-contact-to-profile")
            assert "new-contact-to-profile is paused: paused by hand (from the console)" in (
                history.stdout.replace("\n", " ")
            )
            page.click("button:has-text('Resume')")
            page.wait_for_url(re.compile(r"done="))
            assert page.locator("h1 .badge").inner_text() == "on"
            assert not dialogs
        finally:
            _out, err = stop(daemon, signal.SIGTERM)
        assert daemon.returncode == 0, err


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _polled(base: str) -> set[str]:
    """The zaps that have finished a run."""
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return set(re.findall(r'^zaplite_runs_total\{[^}]*\bzap="([^"]+)"', text, flags=re.M))


def _failed(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    match = re.search(
        rf'zaplite_tasks_total\{{status="failed",zap="{BROKEN_ID}"\}} ([0-9.]+)', text
    )
    return float(match.group(1)) if match else 0.0
