"""``zaplite connect``, ``disconnect`` and ``vault rotate-key`` against the emulators, in subprocesses.

Each failure of the sign-in ends with one sentence and exit 1 (bad options: exit 2),
and leaves the config byte for byte and the vault without a secret.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import Cli, stop
from tests.support.consent import (
    answer_consent,
    connect_allowing,
    follow,
    read_line,
    start_connect,
)
from tests.support.emulators import Account, Org
from tests.support.zaps import contact_zap
from zaplite.project.vault import KEY_ENV, new_key
from zaplite.sandbox.server import free_port
from zaplite.store import Store

CONFIG = """\
# The team's zaplite config: keep these comments.
[store]
url = "sqlite:///zaplite.db"   # the default

[settings]
retry_attempts = 2
retry_initial_wait = 0.05

[connections.salesforce]
app = "salesforce"
# the sandbox org
login_url = "{sf}"
client_id = "{client_id}"
api_version = "64.0"

[connections.clevertap]
app = "clevertap"
account_id = "{account}"
passcode = "{passcode}"
endpoint = "{ct}"
"""


@pytest.fixture
def project(tmp_path: Path, sf_org: Org, ct_account: Account) -> Cli:
    root = tmp_path / "project"
    (root / "zaps").mkdir(parents=True)
    (root / "zaplite.toml").write_text(
        CONFIG.format(
            sf=sf_org.url,
            client_id=sf_org.emu.credentials.client_id,
            account=ct_account.emu.account_id,
            passcode=ct_account.emu.passcode,
            ct=ct_account.url,
        )
    )
    zap = contact_zap("new-contacts", every="1m", start="all")
    (root / "zaps" / "new-contacts.json").write_text(json.dumps(zap))
    return Cli(root, timeout=60)


def port_args() -> list[str]:
    return ["--callback-port", str(free_port())]


def stored_rows(cli: Cli) -> list[tuple[str, str]]:
    path = cli.root / "zaplite.db"
    if not path.exists():
        return []
    with Store(f"sqlite:///{path}") as store:
        return [(row.connection, row.name) for row in store.secret_rows()]


def refresh_tokens_of(org: Org) -> set[str]:
    return set(org.emu.oauth.refresh_tokens) - {org.emu.credentials.refresh_token}


def assert_nowhere(cli: Cli, secrets: set[str], *outputs: str) -> None:
    """None of ``secrets`` in the database files, the config, the key file or the outputs."""
    assert secrets
    for path in cli.root.iterdir():
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret is in {path.name}"
    for output in outputs:
        for secret in secrets:
            assert secret not in output


def test_connect_keeps_the_token_in_the_vault_and_the_config_as_written(
    project: Cli, sf_org: Org, ct_account: Account
) -> None:
    sf_org.add_contacts(2)
    before = (project.root / "zaplite.toml").read_text()
    done = connect_allowing(project)
    assert done.returncode == 0, done.stderr
    assert (
        f"to Salesforce org {sf_org.emu.org_id} as {sf_org.emu.credentials.username}" in done.stdout
    )
    config = (project.root / "zaplite.toml").read_text()
    assert config == before.replace(
        'api_version = "64.0"\n', 'api_version = "64.0"\nauth = "refresh_token"\n'
    )
    assert stored_rows(project) == [
        ("salesforce", "instance_url"),
        ("salesforce", "org_id"),
        ("salesforce", "refresh_token"),
    ]
    assert (project.root / "zaplite.key").stat().st_mode & 0o777 == 0o600
    tested = project("connections", "--test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "refresh_token: vault" in tested.stdout and "passcode: file" in tested.stdout
    ran = project("run", "--once")
    assert ran.returncode == 0, ran.stderr
    assert ct_account.identities() == {sf_org.email(0), sf_org.email(1)}
    listed = project("connections", "--json")
    assert json.loads(listed.stdout)[0]["secrets"] == {"refresh_token": "vault"}
    history = project("history", "--json")
    access_tokens = set(sf_org.emu.tokens._tokens)
    assert_nowhere(
        project,
        refresh_tokens_of(sf_org) | access_tokens,
        done.stdout,
        done.stderr,
        tested.stdout,
        ran.stdout,
        ran.stderr,
        listed.stdout,
        history.stdout,
    )


def test_a_new_folder_gets_a_config_with_the_connection(tmp_path: Path, sf_org: Org) -> None:
    cli = Cli(tmp_path, timeout=60)
    done = connect_allowing(
        cli, "--login-url", sf_org.url, "--client-id", sf_org.emu.credentials.client_id
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "zaplite.toml").read_text() == (
        "[connections.salesforce]\n"
        'app = "salesforce"\n'
        f'login_url = "{sf_org.url}"\n'
        f'client_id = "{sf_org.emu.credentials.client_id}"\n'
        'auth = "refresh_token"\n'
    )
    assert cli("connections", "--test").returncode == 0


def assert_unchanged(cli: Cli, before: str) -> None:
    assert (cli.root / "zaplite.toml").read_text() == before
    assert stored_rows(cli) == []
    assert not (cli.root / "zaplite.key").exists()


@pytest.mark.parametrize("case", ["deny", "wrong state", "bad code"])
def test_a_refused_sign_in_is_one_sentence_and_changes_nothing(
    project: Cli, sf_org: Org, case: str
) -> None:
    before = (project.root / "zaplite.toml").read_text()
    process, url = start_connect(project, *port_args())
    location = answer_consent(url, allow=case != "deny")
    if case == "wrong state":
        location = location.replace("state=", "state=forged")
    elif case == "bad code":
        location = location.replace("code=", "code=x")
    follow(location)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    expected = {
        "deny": "Error: Access was denied on the consent page; nothing was saved.",
        "wrong state": "Error: The sign-in answer did not carry the state zaplite sent",
        "bad code": "Error: Salesforce refused to exchange the authorization code "
        "(invalid_grant: invalid authorization code).",
    }[case]
    assert err.startswith(expected) and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert_unchanged(project, before)


def test_no_answer_times_out(project: Cli) -> None:
    before = (project.root / "zaplite.toml").read_text()
    process, _url = start_connect(project, *port_args(), "--timeout", "1")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == (
        "Error: No answer came back from the sign-in page within 1 s (--timeout); "
        "nothing was saved.\n"
    )
    assert_unchanged(project, before)


def test_ctrl_c_ends_it_with_one_sentence(project: Cli) -> None:
    before = (project.root / "zaplite.toml").read_text()
    process, _url = start_connect(project, *port_args())
    _out, err = stop(process, signal.SIGINT)
    assert process.returncode == 1
    assert err == "Error: Connecting was interrupted; nothing was saved.\n"
    assert_unchanged(project, before)


def test_a_busy_callback_port_is_said(project: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = project("connect", "salesforce", "--no-browser", "--callback-port", str(port))
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: Cannot listen for the sign-in answer on localhost:{port}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--callback-port", "0"], "Invalid value for '--callback-port'"),
        (["--login-url", "ftp://example.com"], "--login-url 'ftp://example.com' must start with"),
        (["--client-secret-env", "NOT_SET_ANYWHERE"], "the variable NOT_SET_ANYWHERE is not set"),
        (["clevertap"], "The connection 'clevertap' in"),
    ],
)
def test_bad_options_exit_2(project: Cli, args: list[str], message: str) -> None:
    before = (project.root / "zaplite.toml").read_text()
    out = project("connect", "salesforce", "--no-browser", *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert_unchanged(project, before)


def test_no_client_id_anywhere_exit_2(tmp_path: Path) -> None:
    out = Cli(tmp_path)("connect", "salesforce", "--no-browser")
    assert out.returncode == 2
    assert "needs --client-id" in out.stderr
    assert not (tmp_path / "zaplite.toml").exists()


def test_client_secret_comes_from_the_named_variable_only(project: Cli, sf_org: Org) -> None:
    project.env["SF_SECRET"] = "wrong-secret"
    before = (project.root / "zaplite.toml").read_text()
    refused = connect_allowing(project, "--client-secret-env", "SF_SECRET")
    assert refused.returncode == 1
    assert "invalid_client: invalid client credentials" in refused.stderr
    assert_unchanged(project, before)
    project.env["SF_SECRET"] = sf_org.emu.credentials.client_secret
    done = connect_allowing(project, "--client-secret-env", "SF_SECRET")
    assert done.returncode == 0, done.stderr
    config = (project.root / "zaplite.toml").read_text()
    assert 'client_secret = "${SF_SECRET}"' in config
    assert sf_org.emu.credentials.client_secret not in config
    out = project("connections", "--test")
    assert out.returncode == 0 and "client_secret: env, refresh_token: vault" in out.stdout


def test_device_flow(project: Cli, sf_org: Org) -> None:
    sf_org.emu.oauth.device_interval = 0
    process = project.start("connect", "salesforce", "--device")
    read_line(process, r"/setup/connect and enter the code")
    user_code = read_line(process, r"^[A-Z0-9]{8}$")
    device = sf_org.emu.oauth.find_device(user_code)
    assert device is not None
    device.status = "approved"
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Connected 'salesforce'" in out
    assert project("connections", "--test").returncode == 0


def test_device_flow_denied(project: Cli, sf_org: Org) -> None:
    sf_org.emu.oauth.device_interval = 0
    before = (project.root / "zaplite.toml").read_text()
    process = project.start("connect", "salesforce", "--device")
    user_code = read_line(process, r"^[A-Z0-9]{8}$")
    device = sf_org.emu.oauth.find_device(user_code)
    assert device is not None
    device.status = "denied"
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == "Error: Access was denied on the device page; nothing was saved.\n"
    assert_unchanged(project, before)


def run_with_stdin(cli: Cli, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.support.cli import zaplite_exe

    return subprocess.run(
        [zaplite_exe(), *args],
        cwd=cli.root,
        env=cli.environment(),
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_connect_clevertap_checks_the_passcode_before_saving_it(
    project: Cli, ct_account: Account
) -> None:
    args = ["connect", "clevertap", "ct", "--account-id", ct_account.emu.account_id]
    args += ["--region", "eu1", "--endpoint", ct_account.url, "--passcode-stdin"]
    before = (project.root / "zaplite.toml").read_text()
    wrong = run_with_stdin(project, "NOT-THE-PASSCODE\n", *args)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("Error: CleverTap did not accept the passcode (")
    assert_unchanged(project, before)
    done = run_with_stdin(project, ct_account.emu.passcode + "\n", *args)
    assert done.returncode == 0, done.stderr
    config = (project.root / "zaplite.toml").read_text()
    assert config.startswith(before)
    assert config[len(before) :] == (
        f'\n[connections.ct]\napp = "clevertap"\naccount_id = "{ct_account.emu.account_id}"\n'
        f'region = "eu1"\nendpoint = "{ct_account.url}"\n'
    )
    assert stored_rows(project) == [("ct", "passcode")]
    out = project("connections", "--test")
    assert "passcode: vault" in out.stdout
    (project.root / "zaplite.toml").write_text(before)  # only the vault's passcode left
    assert_nowhere(project, {"NOT-THE-PASSCODE"}, wrong.stdout, wrong.stderr)


def test_disconnect_revokes_and_forgets_and_remove_drops_the_block(
    project: Cli, sf_org: Org
) -> None:
    assert connect_allowing(project).returncode == 0
    [token] = refresh_tokens_of(sf_org)
    out = project("disconnect", "salesforce")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "Disconnected 'salesforce': revoked its refresh token, deleted 3 secret(s) from the vault.\n"
    )
    assert token not in sf_org.emu.oauth.refresh_tokens
    assert stored_rows(project) == []
    assert "[connections.salesforce]" in (project.root / "zaplite.toml").read_text()
    gone = project("disconnect", "salesforce", "--remove")
    assert gone.returncode == 0
    config = (project.root / "zaplite.toml").read_text()
    assert "[connections.salesforce]" not in config and "[connections.clevertap]" in config
    assert "# The team's zaplite config: keep these comments." in config
    assert project("disconnect", "nothing").returncode == 2


def test_rotate_key_and_a_wrong_key(project: Cli, sf_org: Org) -> None:
    assert connect_allowing(project).returncode == 0
    old = (project.root / "zaplite.key").read_text()
    rotated = project("vault", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("Re-encrypted 3 secret(s) under a new key, now in ")
    assert (project.root / "zaplite.key").read_text() != old
    assert project("connections", "--test").returncode == 0
    project.env[KEY_ENV] = new_key().decode()
    wrong = project("connections", "--test", "--json")
    assert wrong.returncode == 1
    result = json.loads(wrong.stdout)[0]["test"]
    assert result == {
        "ok": False,
        "message": "The vault key in $ZAPLITE_SECRET_KEY is not the key this store's secrets "
        f"are encrypted under ({project.root / 'zaplite.db'}).",
    }
    ran = project("run", "--once")
    assert ran.returncode != 0 and "Traceback" not in ran.stderr


def test_device_flow_expired(project: Cli, sf_org: Org) -> None:
    sf_org.emu.oauth.device_interval = 0
    sf_org.emu.oauth.device_seconds = 0
    before = (project.root / "zaplite.toml").read_text()
    process = project.start("connect", "salesforce", "--device")
    user_code = read_line(process, r"^[A-Z0-9]{8}$")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == (
        f"Error: The code {user_code} expired before it was approved; nothing was saved.\n"
    )
    assert_unchanged(project, before)


def test_connect_clevertap_reads_a_hidden_prompt(project: Cli, ct_account: Account) -> None:
    from click.testing import CliRunner

    from zaplite.cli.main import _add_commands, cli
    from zaplite.testing import logging_restored

    _add_commands()
    args = ["connect", "clevertap", "ct", "--account-id", ct_account.emu.account_id]
    args += ["--region", "eu1", "--endpoint", ct_account.url]
    env = {"ZAPLITE_CONFIG": str(project.root / "zaplite.toml")}
    with logging_restored():
        result = CliRunner().invoke(cli, args, input=ct_account.emu.passcode + "\n", env=env)
    assert result.exit_code == 0, result.output
    assert "Passcode: \n" in result.output  # asked for, and not echoed
    assert ct_account.emu.passcode not in result.output
    assert stored_rows(project) == [("ct", "passcode")]


def test_an_empty_passcode_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    out = Cli(tmp_path)(
        "connect", "clevertap", "--account-id", "x", "--region", "eu1", "--passcode-stdin"
    )
    assert out.returncode == 2, out.stderr
    assert "The passcode is empty; nothing was saved." in out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_connect_clevertap_with_a_setting_its_model_refuses_names_the_setting(
    project: Cli,
) -> None:
    before = (project.root / "zaplite.toml").read_text()
    args = ["connect", "clevertap", "ct", "--account-id", "ACC", "--region", "mars1"]
    out = run_with_stdin(project, "SOME-PASSCODE\n", *args, "--passcode-stdin")
    assert out.returncode == 2, out.stderr
    assert "connections.ct.region" in out.stderr
    assert "unknown CleverTap region 'mars1'" in out.stderr
    assert "Traceback" not in out.stderr
    assert_unchanged(project, before)
    assert_nowhere(project, {"SOME-PASSCODE"}, out.stdout, out.stderr)
