"""``zaplite connect salesforce|clevertap`` and ``zaplite disconnect``: accounts into the vault.

``connect salesforce`` runs the OAuth web-server flow with PKCE (or the device flow),
saves the refresh token in the vault and writes ``[connections.NAME]`` without any
secret; ``connect clevertap`` checks a passcode with CleverTap before saving it.
Whatever fails before the end (denied, timed out, wrong state, Ctrl-C) leaves the
config and the vault as they were: each is written only once everything worked.
"""

from __future__ import annotations

import os
import secrets
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click
import httpx

from zaplite import oauth
from zaplite.cli.common import run_async, with_workspace, workspace_options
from zaplite.errors import FileError, UsageError, ZapliteError
from zaplite.project.config import CONFIG_NAME, ConnectionConfig
from zaplite.project.configedit import remove_connection, update_connection
from zaplite.project.connections import Connections
from zaplite.project.vault import Vault
from zaplite.project.workspace import Workspace
from zaplite.tls import client_context

__all__ = ["COMMANDS"]

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
SALESFORCE_SAVED = ("refresh_token", "instance_url", "org_id")
"""What ``connect salesforce`` keeps in the vault."""


def _config_path(workspace: Workspace) -> Path:
    return workspace.config.path or (Path.cwd() / CONFIG_NAME)


def _existing(workspace: Workspace, name: str, app: str) -> ConnectionConfig | None:
    entry = workspace.config.connections.get(name)
    if entry is not None and entry.app != app:
        raise UsageError(
            f"The connection {name!r} in {_config_path(workspace)} is a {entry.app} "
            f"connection, not a {app} one; choose another name."
        )
    return entry


def _resolved(entry: ConnectionConfig | None, key: str) -> str | None:
    if entry is None or key not in entry.raw:
        return None
    value = entry.resolve().get(key)
    return str(value) if value not in (None, "") else None


def _preflight(vault: Vault) -> None:
    """Fail before the browser opens if the vault could not take the secret afterwards."""
    vault.store.check_writable()
    if vault.key_from_env or vault.key_file.exists() or vault.store.vault_check() is not None:
        vault.cipher()


def _save(
    workspace: Workspace,
    name: str,
    secrets_: dict[str, str],
    table: dict[str, str],
    remove: list[str],
) -> None:
    """Put the secrets in the vault, then the table in the config; undo the vault if that fails."""
    vault = workspace.vault
    before = {key: vault.get(name, key) for key in secrets_}
    vault.put(name, secrets_)
    try:
        update_connection(_config_path(workspace), name, table, remove=remove)
    except BaseException:
        vault.forget(name, [key for key, value in before.items() if value is None])
        kept = {key: value for key, value in before.items() if value is not None}
        if kept:
            vault.put(name, kept)
        raise


def _http() -> httpx.Client:
    return httpx.Client(verify=client_context(), timeout=30.0, follow_redirects=False)


@click.group()
def connect() -> None:
    """Connect an account: sign in once, keep its secret in the encrypted vault."""


@connect.command("salesforce")
@workspace_options
@click.argument("name", default="salesforce")
@click.option("--login-url", help=f"Where to sign in (default {DEFAULT_LOGIN_URL}).")
@click.option("--client-id", help="The app's consumer key (default: the connection's).")
@click.option(
    "--client-secret-env",
    metavar="VAR",
    help="The environment variable holding the app's consumer secret, if it needs one.",
)
@click.option(
    "--callback-port",
    type=click.IntRange(1, 65535),
    default=1717,
    show_default=True,
    help="The local port of the callback (http://localhost:PORT/OauthRedirect).",
)
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option("--device", is_flag=True, help="Use the device flow (for a machine with no browser).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the sign-in.",
)
@with_workspace(config_required=False)  # it writes zaplite.toml when there is none
def salesforce(
    workspace: Workspace,
    name: str,
    login_url: str | None,
    client_id: str | None,
    client_secret_env: str | None,
    callback_port: int,
    no_browser: bool,
    device: bool,
    timeout: float,
) -> None:
    """Sign in to Salesforce in a browser (OAuth with PKCE) and keep the refresh token in the vault."""
    entry = _existing(workspace, name, "salesforce")
    login = (login_url or _resolved(entry, "login_url") or DEFAULT_LOGIN_URL).strip().rstrip("/")
    if not login.startswith(("https://", "http://")):
        raise UsageError(f"--login-url {login!r} must start with https:// (or http:// locally).")
    client = client_id or _resolved(entry, "client_id")
    if not client:
        raise UsageError(
            "zaplite connect salesforce needs --client-id: the consumer key of your External "
            "Client App (README: Connect your accounts)."
        )
    secret: str | None = None
    if client_secret_env is not None:
        secret = os.environ.get(client_secret_env)
        if not secret:
            raise UsageError(f"--client-secret-env: the variable {client_secret_env} is not set.")
    elif entry is not None and "client_secret" in entry.raw:
        secret = _resolved(entry, "client_secret")
    _preflight(workspace.vault)
    try:
        with _http() as http:
            if device:
                tokens = _device_flow(http, login, client, timeout)
            else:
                tokens = _web_flow(
                    http, login, client, secret, callback_port, not no_browser, timeout
                )
            who = oauth.identity(http, str(tokens.get("id", "")), tokens["access_token"])
    except KeyboardInterrupt:
        raise oauth.OAuthFlowError("Connecting was interrupted; nothing was saved.") from None
    org_id, user_id = _ids(str(tokens.get("id", "")))
    table = {"app": "salesforce", "login_url": login, "client_id": client}
    table["auth"] = "refresh_token"
    if client_secret_env is not None:
        table["client_secret"] = "${" + client_secret_env + "}"
    saved = {"refresh_token": tokens["refresh_token"], "instance_url": tokens["instance_url"]}
    if org_id:
        saved["org_id"] = org_id
    _save(workspace, name, saved, table, remove=["refresh_token"])
    user = (who or {}).get("username") or user_id or "an unknown user"
    display = (who or {}).get("display_name")
    org = (who or {}).get("organization_id") or org_id or "an unknown org"
    click.echo(
        f"Connected {name!r} to Salesforce org {org} as {user}"
        + (f" ({display})" if display else "")
        + f"; the refresh token is in the vault and [connections.{name}] is in "
        f"{_config_path(workspace)}."
    )


def _ids(id_url: str) -> tuple[str | None, str | None]:
    parts = id_url.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id":
        return parts[-2], parts[-1]
    return None, None


def _web_flow(
    http: httpx.Client,
    login: str,
    client: str,
    secret: str | None,
    port: int,
    open_browser: bool,
    timeout: float,
) -> dict[str, Any]:
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(24)
    with oauth.CallbackServer(port) as callback:
        url = oauth.authorize_url(login, client, callback.redirect_uri, state, challenge)
        click.echo("Open this URL in a browser, sign in and allow access:")
        click.echo(url)
        sys.stdout.flush()
        if open_browser:
            webbrowser.open(url)
        answer = callback.wait(timeout)
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise oauth.OAuthFlowError(
            "The sign-in answer did not carry the state zaplite sent (another page may have "
            "called the callback); nothing was saved."
        )
    if "error" in answer:
        if answer["error"] == "access_denied":
            raise oauth.OAuthFlowError("Access was denied on the consent page; nothing was saved.")
        raise oauth.OAuthFlowError(
            f"Salesforce did not authorize zaplite ({answer['error']}: "
            f"{answer.get('error_description') or 'no description'}); nothing was saved."
        )
    code = answer.get("code")
    if not code:
        raise oauth.OAuthFlowError("The sign-in answer carried no code; nothing was saved.")
    return oauth.exchange_code(
        http,
        login,
        client_id=client,
        code=code,
        redirect_uri=callback.redirect_uri,
        verifier=verifier,
        client_secret=secret,
    )


def _device_flow(http: httpx.Client, login: str, client: str, timeout: float) -> dict[str, Any]:
    start = oauth.start_device(http, login, client)
    click.echo(f"Open {start.verification_uri} and enter the code:")
    click.echo(start.user_code)
    sys.stdout.flush()
    return oauth.poll_device(http, login, client, start, timeout=timeout)


@connect.command("clevertap")
@workspace_options
@click.argument("name", default="clevertap")
@click.option("--account-id", required=True, help="The CleverTap Account ID.")
@click.option("--region", required=True, help="eu1, in1, sg1, us1, aps3 or mec1.")
@click.option("--endpoint", help="Another base URL (a proxy, or the sandbox emulator).")
@click.option("--passcode-stdin", is_flag=True, help="Read the passcode from standard input.")
@with_workspace(config_required=False)  # it writes zaplite.toml when there is none
def clevertap(
    workspace: Workspace,
    name: str,
    account_id: str,
    region: str,
    endpoint: str | None,
    passcode_stdin: bool,
) -> None:
    """Check a CleverTap passcode with CleverTap and keep it in the vault."""
    _existing(workspace, name, "clevertap")
    if passcode_stdin:
        passcode = sys.stdin.readline().strip()
    else:
        try:
            passcode = click.prompt("Passcode", hide_input=True, err=True).strip()
        except (click.exceptions.Abort, KeyboardInterrupt):
            raise oauth.OAuthFlowError("Connecting was interrupted; nothing was saved.") from None
    if not passcode:
        raise UsageError("The passcode is empty; nothing was saved.")
    _preflight(workspace.vault)  # after the input is read: a refused input creates no store
    table = {"app": "clevertap", "account_id": account_id, "region": region}
    if endpoint:
        table["endpoint"] = endpoint
    pool = Connections(workspace.config, workspace.registry, vault=workspace.vault)
    values = {key: value for key, value in table.items() if key != "app"}

    async def check() -> str:
        try:
            return await pool.trial(name, "clevertap", {**values, "passcode": passcode})
        finally:
            await pool.close()

    try:
        reached = run_async(check())
    except FileError:
        raise
    except ZapliteError as error:
        raise oauth.OAuthFlowError(
            f"CleverTap did not accept the passcode ({str(error).rstrip('.')}); nothing was saved."
        ) from None
    _save(workspace, name, {"passcode": passcode}, table, remove=["passcode"])
    click.echo(
        f"Connected {name!r}: {reached}; the passcode is in the vault and "
        f"[connections.{name}] is in {_config_path(workspace)}."
    )


@click.command()
@workspace_options
@click.argument("name")
@click.option("--remove", is_flag=True, help="Also delete [connections.NAME] from the config.")
@with_workspace
def disconnect(workspace: Workspace, name: str, remove: bool) -> None:
    """Revoke the connection's token (Salesforce) and delete its secrets from the vault."""
    entry = workspace.config.connections.get(name)
    vault = workspace.vault
    stored = vault.names(name)
    if entry is None and not stored:
        raise UsageError(f"There is no connection {name!r} in {_config_path(workspace)}.")
    said: list[str] = []
    if entry is not None and entry.app == "salesforce" and "refresh_token" in stored:
        token = vault.get(name, "refresh_token")
        login = _resolved(entry, "login_url") or DEFAULT_LOGIN_URL
        if token:
            with _http() as http:
                oauth.revoke(http, login.rstrip("/"), token)
            said.append("revoked its refresh token")
    elif entry is not None and entry.app == "salesforce" and "refresh_token" in entry.raw:
        said.append("left the refresh_token written in the config alone (revoke it in Salesforce)")
    count = vault.forget(name)
    said.append(f"deleted {count} secret(s) from the vault")
    if remove and entry is not None:
        remove_connection(_config_path(workspace), name)
        said.append(f"removed [connections.{name}] from {_config_path(workspace)}")
    click.echo(f"Disconnected {name!r}: " + ", ".join(said) + ".")


@click.group()
def vault() -> None:
    """The encrypted credential vault in the store."""


@vault.command("rotate-key")
@workspace_options
@with_workspace
def rotate_key(workspace: Workspace) -> None:
    """Re-encrypt every secret in the vault under a new key."""
    count, where = workspace.vault.rotate_key()
    click.echo(f"Re-encrypted {count} secret(s) under a new key, now in {where}.")


COMMANDS = [connect, disconnect, vault]
