"""Rotating refresh tokens: saved before use, across daemon restarts and between daemons.

The emulated org rotates refresh tokens (each refresh answers a new one and the old one
stops working) and its access tokens are expired after every delivery, so every run
signs in again with the token the vault holds. Ten runs across three daemon restarts
all sign in and deliver; two daemons sharing the store never present a token the other
has replaced (the org counts refused refreshes); the vault ends holding only the newest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.config import write_config
from tests.support.consent import connect_allowing
from tests.support.emulators import Account, Org
from tests.support.processes import Daemon, Processes, wait_for
from tests.support.zaps import contact_zap
from zaplite.project.config import load_config
from zaplite.project.vault import Vault
from zaplite.store import Store

pytestmark = pytest.mark.slow


def project(root: Path, org: Org, account: Account, store_url: str, zap_ids: list[str]) -> Cli:
    salesforce = {"app": "salesforce", "login_url": org.url}
    salesforce["client_id"] = org.emu.credentials.client_id
    clevertap = {"app": "clevertap", **account.connection()}
    settings = {"retry_attempts": 3, "retry_initial_wait": 0.1, "retry_max_wait": 0.5}
    settings["log_file"] = "zaplite.log"
    tables = {
        "settings": settings,
        "connections.salesforce": salesforce,
        "connections.clevertap": clevertap,
    }
    write_config(root, tables, store_url=store_url)
    (root / "zaps").mkdir()
    for zap_id in zap_ids:
        zap = contact_zap(zap_id, every="1s", start="all", profile={"Zap": zap_id})
        zap["steps"][0]["params"]["identity"] = f"{zap_id}:{{{{trigger.Email}}}}"
        (root / "zaps" / f"{zap_id}.json").write_text(json.dumps(zap))
    cli = Cli(root, timeout=60)
    done = connect_allowing(cli)
    assert done.returncode == 0, done.stderr
    org.emu.oauth.rotate_refresh_tokens = True
    return cli


def stored_token(root: Path) -> tuple[str | None, int]:
    """The vault's refresh token and how many refresh-token rows the vault holds."""
    config = load_config(root / "zaplite.toml")
    with Store(config.store_url) as store:
        vault = Vault(config, lambda: store, env={})
        rows = [row for row in store.secret_rows() if row.name == "refresh_token"]
        return vault.get("salesforce", "refresh_token"), len(rows)


def issued(org: Org) -> set[str]:
    """The refresh tokens the org still accepts, but for its fixed sandbox one."""
    return set(org.emu.oauth.refresh_tokens) - {org.emu.credentials.refresh_token}


def deliver_one(org: Org, account: Account, n: int, zap_ids: list[str]) -> None:
    """Add a contact, wait until every zap delivered it, then end every access token."""
    email = f"rot{n}@example.com"
    org.emu.create("Contact", {"FirstName": "Rot", "LastName": str(n), "Email": email})
    wanted = {f"{zap_id}:{email}" for zap_id in zap_ids}
    wait_for(
        lambda: wanted <= account.identities(), timeout=60, what=f"contact {n} to be delivered"
    )
    org.emu.expire_tokens()  # the next run must sign in again, with the vault's token


def test_ten_runs_across_three_restarts_all_sign_in(
    tmp_path: Path, sf_org: Org, ct_account: Account, procs: Processes
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    project(root, sf_org, ct_account, "sqlite:///zaplite.db", ["rotating"])
    signed_in = sf_org.tokens()
    delivered = 0
    for restart, runs in enumerate((4, 3, 3)):
        daemon = Daemon.start(procs, root, f"daemon{restart}")
        for _ in range(runs):
            deliver_one(sf_org, ct_account, delivered, ["rotating"])
            delivered += 1
        assert daemon.terminate() == 0, daemon.output()[1]
        token, rows = stored_token(root)
        assert rows == 1 and issued(sf_org) == {token}  # only the newest, and it works
    assert delivered == 10
    assert sf_org.emu.oauth.refused_refreshes == 0
    assert sf_org.tokens() - signed_in >= 10  # every run after an expiry signed in again
    # No refresh token ever issued, nor an access token, is in the database, its WAL, the
    # config, the log file or what the daemons printed.
    secrets = set(sf_org.emu.oauth.ever_issued) | set(sf_org.emu.tokens._tokens)
    assert len(sf_org.emu.oauth.ever_issued) >= 11
    texts = [path.read_bytes() for path in root.iterdir() if path.is_file()]
    assert any(path.name == "zaplite.log" for path in root.iterdir())
    for restart in range(3):
        texts += [part.encode() for part in Daemon(None, f"daemon{restart}", procs.folder).output()]  # type: ignore[arg-type]
    for text in texts:
        for secret in secrets:
            assert secret.encode() not in text


def test_two_daemons_sharing_the_store_never_use_a_replaced_token(
    tmp_path: Path, sf_org: Org, ct_account: Account, procs: Processes, store_url: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    zap_ids = ["first", "second", "third", "fourth"]
    project(root, sf_org, ct_account, store_url, zap_ids)
    daemons = [Daemon.start(procs, root, f"daemon{n}") for n in range(2)]
    for n in range(6):
        deliver_one(sf_org, ct_account, n, zap_ids)
    for daemon in daemons:
        assert daemon.terminate() == 0, daemon.output()[1]
    assert sf_org.emu.oauth.refused_refreshes == 0
    token, rows = stored_token(root)
    assert rows == 1 and issued(sf_org) == {token}
    for daemon in daemons:
        _out, err = daemon.output()
        assert "expired access/refresh token" not in err
