"""Secrets never appear: every command, in success and in refused sign-ins, printed and stored.

Known secret values (the Salesforce client secret, refresh token and password, the
CleverTap passcode, and every access token the emulated org issued) are written into
the config both literally and through ``${ENV}``; every command runs through the
installed ``zaplite`` script; then everything printed, every log file and every file
of the project (the SQLite database and its WAL included) is searched for them.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import Cli, stop
from tests.support.emulators import Account, Org
from tests.support.zaps import contact_zap
from zaplite.sandbox.clevertap import CleverTapEmulator
from zaplite.sandbox.salesforce import SalesforceEmulator

pytestmark = pytest.mark.slow

SF_CLIENT_SECRET = "SFCLIENTSECRET7f3a9c"
SF_REFRESH_TOKEN = "SFREFRESHTOKEN5e1b2d"
SF_PASSWORD = "SFPASSWORDtok9d8c7b"
CT_PASSCODE = "CTPASSCODE4a6e2f"
SECRETS = [SF_CLIENT_SECRET, SF_REFRESH_TOKEN, SF_PASSWORD, CT_PASSCODE]


@dataclass
class Services:
    """One emulated org and one CleverTap account with the known secrets, on loopback."""

    org: Org
    account: Account
    access_tokens: set[str] = field(default_factory=set)

    @property
    def sf(self) -> SalesforceEmulator:
        """The org's emulator."""
        return self.org.emu

    @property
    def ct(self) -> CleverTapEmulator:
        """The CleverTap account's emulator."""
        return self.account.emu

    def note_tokens(self) -> None:
        """Remember every access token the org has issued so far (they are secrets too)."""
        self.access_tokens.update(self.sf.tokens._tokens)


def _zap(zap_id: str, sf: str, ct: str) -> str:
    profile = {"Email": "{{trigger.Email}}", "Phone": "{{trigger.Phone}}"}
    zap = contact_zap(zap_id, sf=sf, ct=ct, every="1s", start="all", profile=profile)
    return json.dumps(zap)


@pytest.fixture
def services(sf_org: Org) -> Iterator[Services]:
    """The emulators with the known secrets."""
    sf_org.emu.credentials = dataclasses.replace(
        sf_org.emu.credentials,
        client_secret=SF_CLIENT_SECRET,
        refresh_token=SF_REFRESH_TOKEN,
        password=SF_PASSWORD,
    )
    with Account.serve("ACC-SECRET", CT_PASSCODE) as account:
        yield Services(sf_org, account)


@pytest.fixture
def project(tmp_path: Path, services: Services) -> Path:
    """A project folder: literal secrets in one pair of connections, ``${ENV}`` in the other."""
    root = tmp_path / "project"
    (root / "zaps").mkdir(parents=True)
    creds = services.sf.credentials
    sf_url, ct_url = services.org.url, services.account.url
    (root / "zaplite.toml").write_text(
        f"""
[store]
url = "sqlite:///zaplite.db"

[settings]
retry_attempts = 2
retry_initial_wait = 0.01
retry_max_wait = 0.05
log_file = "zaplite.log"

[connections.sf_literal]
app = "salesforce"
login_url = "{sf_url}"
auth = "refresh_token"
client_id = "{creds.client_id}"
client_secret = "{SF_CLIENT_SECRET}"
refresh_token = "{SF_REFRESH_TOKEN}"
page_size = 200

[connections.sf_env]
app = "salesforce"
login_url = "{sf_url}"
auth = "password"
client_id = "{creds.client_id}"
client_secret = "${{SF_CLIENT_SECRET}}"
username = "{creds.username}"
password = "${{SF_PASSWORD}}"

[connections.ct_literal]
app = "clevertap"
account_id = "ACC-SECRET"
passcode = "{CT_PASSCODE}"
endpoint = "{ct_url}"

[connections.ct_env]
app = "clevertap"
account_id = "ACC-SECRET"
passcode = "${{CT_PASSCODE}}"
endpoint = "{ct_url}"
"""
    )
    (root / "zaps" / "literal.json").write_text(_zap("literal", "sf_literal", "ct_literal"))
    (root / "zaps" / "env.json").write_text(_zap("env", "sf_env", "ct_env"))
    return root


class Recorder:
    """Runs the installed ``zaplite`` in the project and keeps everything it printed."""

    def __init__(self, root: Path, services: Services) -> None:
        self.root = root
        self.services = services
        self.outputs: list[tuple[str, str]] = []
        secrets = {
            "SF_CLIENT_SECRET": SF_CLIENT_SECRET,
            "SF_PASSWORD": SF_PASSWORD,
            "CT_PASSCODE": CT_PASSCODE,
        }
        self.cli = Cli(root, env=secrets)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one command; its output is kept for the search."""
        done = self.cli(*args)
        self.outputs.append((" ".join(args), done.stdout + done.stderr))
        print(f"$ zaplite {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}")
        self.services.note_tokens()
        return done

    def daemon(self, seconds: float) -> str:
        """Run ``zaplite run -vv`` for a few seconds, stop it with SIGTERM, keep its output."""
        process = self.cli.start("run", "-vv", merge_stderr=True)
        try:
            time.sleep(seconds)
        finally:
            output, _ = stop(process, signal.SIGTERM)
        self.outputs.append(("run -vv (daemon)", output))
        self.services.note_tokens()
        return output

    def every_command(self) -> None:
        """Each command of the CLI once, with output kept."""
        for args in (
            ["validate"],
            ["validate", "--json"],
            ["apps"],
            ["apps", "--json"],
            ["connections"],
            ["connections", "--json"],
            ["connections", "--test"],
            ["test-trigger", "literal"],
            ["test-trigger", "env", "--json"],
            ["test-step", "literal", "--dry-run"],
            ["test-step", "env", "--dry-run", "--json"],
            ["test-step", "literal", "-vv"],
            ["test-step", "env", "--json"],
            ["run", "--once", "-vv"],
            ["history"],
            ["history", "--json"],
            ["replay", "--failed", "-vv"],
        ):
            self(*args)

    def leaks(self) -> list[str]:
        """Where any secret or access token was found: printed, or in a file of the project."""
        secrets = SECRETS + sorted(self.services.access_tokens)
        found = []
        for command, output in self.outputs:
            found += [f"`{command}` printed {s[:12]}..." for s in secrets if s in output]
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.name != "zaplite.toml":  # it holds them, by design
                data = path.read_bytes()
                found += [f"{path.name} holds {s[:12]}..." for s in secrets if s.encode() in data]
        return found


def test_no_command_shows_or_stores_a_secret(project: Path, services: Services) -> None:
    services.sf.create_many(
        "Contact",
        [
            {"LastName": f"S{i}", "Email": f"s{i}@example.com", "Phone": "12345" if i else "+1415"}
            for i in range(5)
        ],
    )
    zaplite = Recorder(project, services)
    zaplite.every_command()
    ran = dict(zaplite.outputs)
    assert "passcode accepted" in ran["connections --test"], ran["connections --test"]
    assert "failed" in ran["history"]  # the bad phone numbers failed, so replay had work
    assert (project / "zaplite.db").exists()
    services.sf.create("Contact", {"LastName": "D", "Email": "d@example.com"})
    zaplite.daemon(4.0)
    assert services.access_tokens, "the org issued no access token?"
    assert zaplite.leaks() == []


def test_refused_sign_ins_show_no_secret(project: Path, services: Services) -> None:
    services.sf.create_many(
        "Contact",
        [{"LastName": f"S{i}", "Email": f"s{i}@example.com", "Phone": "12345"} for i in range(3)],
    )
    zaplite = Recorder(project, services)
    assert zaplite("run", "--once").returncode == 1  # bad phones: failed tasks to replay later
    # A real sample, kept while the sign-in works: test-step sends only such a record.
    assert zaplite("test-trigger", "literal").returncode == 0
    # Revoke the refresh token, change the password and the passcode: sign-ins are refused.
    services.sf.credentials = dataclasses.replace(
        services.sf.credentials, refresh_token="another-token", password="another-password"
    )
    services.sf.expire_tokens()
    services.ct.passcode = "ANOTHER-PASSCODE"
    services.sf.create("Contact", {"LastName": "N", "Email": "n@example.com"})
    test = zaplite("connections", "--test")
    assert test.returncode != 0
    assert "refused" in test.stdout + test.stderr
    zaplite.every_command()
    ran = dict(zaplite.outputs)
    assert "expired access/refresh token" in ran["run --once -vv"], ran["run --once -vv"]
    assert "authentication failure" in ran["run --once -vv"]
    assert "CleverTap refused the credentials" in ran["replay --failed -vv"]
    assert "CleverTap refused the credentials" in ran["test-step literal -vv"]
    zaplite.daemon(3.0)
    assert zaplite.leaks() == []
