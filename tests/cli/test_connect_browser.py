"""``zaplite connect salesforce`` with a real browser: headless Chromium clicks Allow.

The sandbox's config as ``zaplite sandbox`` writes it, then: ``connect`` prints the
authorization URL, Chromium opens it and presses Allow on the consent page, the
emulator redirects it to the command's callback on localhost, the command saves the
refresh token in the vault, and ``connections --test`` and ``run --once`` work with
no Salesforce secret in the config or the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli import Cli
from tests.support.consent import start_connect
from zaplite.project.examples import copy_example_zaps
from zaplite.sandbox.server import free_port
from zaplite.sandbox.session import Sandbox


def test_connect_in_chromium_then_run(tmp_path: Path, browser_page: Any) -> None:
    with Sandbox.start(salesforce_port=0, clevertap_port=0) as sandbox:
        root = tmp_path / "project"
        sandbox.write_config(root)
        copy_example_zaps(root / "zaps")
        cli = Cli(root, timeout=120)
        port = free_port()
        login = sandbox.salesforce_server.url
        process, url = start_connect(cli, "--login-url", login, "--callback-port", str(port))
        browser_page.goto(url)
        assert browser_page.title() == "Allow Access?"
        browser_page.click("#oaapprove")
        browser_page.wait_for_url(f"http://localhost:{port}/OauthRedirect?*")
        assert browser_page.locator("h1").inner_text() == "Connected"
        browser_page.screenshot(path=str(tmp_path / "connected.png"))
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "Connected 'salesforce' to Salesforce org" in out
        config = (root / "zaplite.toml").read_text()
        creds = sandbox.salesforce.credentials
        assert creds.refresh_token not in config and "refresh_token =" not in config

        tested = cli("connections", "--test")
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "refresh_token: vault" in tested.stdout
        first = cli("run", "--once", "new-contact-to-profile")
        assert first.returncode == 0, first.stderr
        sandbox.salesforce.create(
            "Contact",
            {"FirstName": "Grace", "LastName": "Hopper", "Email": "grace.connect@example.com"},
        )
        second = cli("run", "--once", "new-contact-to-profile")
        assert second.returncode == 0, second.stderr
        assert "1 delivered" in second.stdout
        assert "grace.connect@example.com" in sandbox.clevertap.profiles
        issued = set(sandbox.salesforce.oauth.refresh_tokens) - {creds.refresh_token}
        for text in (out, err, tested.stdout, first.stdout, second.stdout, config):
            for token in issued:
                assert token not in text
