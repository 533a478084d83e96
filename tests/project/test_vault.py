"""The credential vault: encrypted at rest, its key found or refused in one sentence, rotation kept."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from tests.support.config import write_config
from zaplite.plugin.secrets import KeptSecret
from zaplite.project.config import load_config
from zaplite.project.connections import Connections
from zaplite.project.vault import KEY_ENV, NEW_KEY_ENV, Vault, VaultKeyError, new_key
from zaplite.project.workspace import Workspace
from zaplite.store import Store

SECRET = "5Aep861-the-refresh-token-nobody-may-read-0123456789"


def make_vault(
    root: Path, store_url: str, env: dict[str, str] | None = None, **vault: str
) -> tuple[Vault, Store]:
    tables = {"vault": vault} if vault else {}
    config = load_config(write_config(root, tables, store_url=store_url))
    store = Store(store_url)
    return Vault(config, lambda: store, env=env or {}), store


def test_the_key_file_is_made_0600_beside_the_config_on_first_save(tmp_path: Path) -> None:
    vault, store = make_vault(tmp_path, f"sqlite:///{tmp_path}/zaplite.db")
    with store:
        assert vault.get("sf", "refresh_token") is None
        assert not (tmp_path / "zaplite.key").exists()  # reading made no key
        vault.put("sf", {"refresh_token": SECRET})
        mode = stat.S_IMODE((tmp_path / "zaplite.key").stat().st_mode)
        assert mode == 0o600
        assert vault.get("sf", "refresh_token") == SECRET
    # Another process (a new Vault) opens it with the same file.
    again, store = make_vault(tmp_path, f"sqlite:///{tmp_path}/zaplite.db")
    with store:
        assert again.get("sf", "refresh_token") == SECRET


def test_key_file_moved_by_the_config(tmp_path: Path) -> None:
    vault, store = make_vault(
        tmp_path, f"sqlite:///{tmp_path}/zaplite.db", key_file="keys/vault.key"
    )
    with store:
        vault.put("sf", {"refresh_token": SECRET})
    assert (tmp_path / "keys" / "vault.key").exists()
    assert not (tmp_path / "zaplite.key").exists()


def test_secrets_never_reach_the_database_file_or_its_wal_in_plain_text(tmp_path: Path) -> None:
    vault, store = make_vault(tmp_path, f"sqlite:///{tmp_path}/zaplite.db")
    with store:
        vault.put("sf", {"refresh_token": SECRET})
        vault.put("ct", {"passcode": "PASSCODE-1234567"})
        files = list(tmp_path.glob("zaplite.db*"))
        assert any(path.name.endswith("-wal") for path in files)  # read while the WAL holds them
        for path in files:
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"PASSCODE-1234567" not in data


def test_key_from_the_environment_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = new_key().decode()
    vault, store = make_vault(tmp_path, f"sqlite:///{tmp_path}/zaplite.db", env={KEY_ENV: key})
    with store:
        vault.put("sf", {"refresh_token": SECRET})
        assert not (tmp_path / "zaplite.key").exists()
        assert vault.key_location() == f"${KEY_ENV}"


def test_a_wrong_or_missing_key_is_one_sentence_naming_where_it_looked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/zaplite.db"
    vault, store = make_vault(tmp_path, url)
    with store:
        vault.put("sf", {"refresh_token": SECRET})
    wrong, store = make_vault(tmp_path, url, env={KEY_ENV: new_key().decode()})
    with store, pytest.raises(VaultKeyError) as error:
        wrong.get("sf", "refresh_token")
    assert str(error.value) == (
        f"The vault key in ${KEY_ENV} is not the key this store's secrets are encrypted "
        f"under ({tmp_path}/zaplite.db)."
    )
    (tmp_path / "zaplite.key").unlink()
    missing, store = make_vault(tmp_path, url)
    with store, pytest.raises(VaultKeyError) as error:
        missing.get("sf", "refresh_token")
    assert str(error.value) == (
        f"The vault key was not found: {KEY_ENV} is not set and the key file "
        f"{tmp_path}/zaplite.key does not exist (the store holds secrets encrypted under a key)."
    )
    with store, pytest.raises(VaultKeyError):  # and saving does not make a new key either
        missing.put("sf", {"refresh_token": "other"})
    assert not (tmp_path / "zaplite.key").exists()
    malformed, store = make_vault(tmp_path, url, env={KEY_ENV: "short"})
    with store, pytest.raises(VaultKeyError, match=r"\$ZAPLITE_SECRET_KEY is not a vault key"):
        malformed.get("sf", "refresh_token")


def test_a_key_file_that_is_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    vault, store = make_vault(tmp_path, f"sqlite:///{tmp_path}/zaplite.db", key_file="vault.key")
    pipe = tmp_path / "vault.key"
    os.mkfifo(pipe)
    outcome: list[str] = []

    def read_key() -> None:
        try:
            vault.cipher()
            outcome.append("read")
        except VaultKeyError as error:
            outcome.append(str(error))

    with store:
        reader = threading.Thread(target=read_key, daemon=True)
        reader.start()
        reader.join(20)
        if reader.is_alive():  # a writer that closes at once hands the reader its end
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(20)
            pytest.fail("reading the vault key waited for a writer to a named pipe")
    assert outcome == [
        f"The vault key file {pipe} is not a regular file (a pipe, device or socket), "
        "so not a vault key file."
    ]


def test_rotate_key_reencrypts_everything_and_the_old_key_stops_working(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/zaplite.db"
    vault, store = make_vault(tmp_path, url)
    with store:
        vault.put("sf", {"refresh_token": SECRET, "org_id": "00D"})
        vault.put("ct", {"passcode": "PASSCODE-1234567"})
        old_key = (tmp_path / "zaplite.key").read_bytes()
        assert vault.rotate_key() == (3, str(tmp_path / "zaplite.key"))
        assert (tmp_path / "zaplite.key").read_bytes() != old_key
        assert stat.S_IMODE((tmp_path / "zaplite.key").stat().st_mode) == 0o600
        assert not (tmp_path / "zaplite.key.new").exists()
    fresh, store = make_vault(tmp_path, url)
    with store:
        assert fresh.get("sf", "refresh_token") == SECRET
        assert fresh.get("ct", "passcode") == "PASSCODE-1234567"
    stale, store = make_vault(tmp_path, url, env={KEY_ENV: old_key.decode().strip()})
    with store, pytest.raises(VaultKeyError):
        stale.get("sf", "refresh_token")


def test_a_rotation_cut_before_its_rename_is_finished_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/zaplite.db"
    vault, store = make_vault(tmp_path, url)
    with store:
        vault.put("sf", {"refresh_token": SECRET})

        real_replace = os.replace

        def crash(source: Path, target: Path) -> None:
            if Path(target) == tmp_path / "zaplite.key":
                raise OSError("killed before the rename")
            real_replace(source, target)

        with monkeypatch.context() as patch:
            patch.setattr("zaplite.project.vault.os.replace", crash)
            with pytest.raises(OSError):
                vault.rotate_key()  # the store is re-encrypted; the key file still the old one
    assert (tmp_path / "zaplite.key.new").exists()
    after, store = make_vault(tmp_path, url)
    with store:
        assert after.get("sf", "refresh_token") == SECRET
    assert not (tmp_path / "zaplite.key.new").exists()
    assert stat.S_IMODE((tmp_path / "zaplite.key").stat().st_mode) == 0o600


def test_a_running_process_follows_a_rotate_key_done_by_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/zaplite.db"
    daemon, daemon_store = make_vault(tmp_path, url)
    with daemon_store:
        daemon.put("sf", {"refresh_token": SECRET})
        assert daemon.get("sf", "refresh_token") == SECRET  # its cipher is cached now
        command, store = make_vault(tmp_path, url)
        with store:
            command.rotate_key()
        assert daemon.get("sf", "refresh_token") == SECRET


def test_rotate_key_from_the_environment_takes_the_new_key_from_its_variable(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/zaplite.db"
    old, new = new_key().decode(), new_key().decode()
    vault, store = make_vault(tmp_path, url, env={KEY_ENV: old})
    with store:
        vault.put("sf", {"refresh_token": SECRET})
        with pytest.raises(VaultKeyError, match=NEW_KEY_ENV):
            vault.rotate_key()
    vault, store = make_vault(tmp_path, url, env={KEY_ENV: old, NEW_KEY_ENV: new})
    with store:
        assert vault.rotate_key() == (1, f"${NEW_KEY_ENV}")
    after, store = make_vault(tmp_path, url, env={KEY_ENV: new})
    with store:
        assert after.get("sf", "refresh_token") == SECRET


class RotatingService:
    """A token endpoint that rotates: each use of the current token returns a new one and kills the old."""

    def __init__(self, first: str) -> None:
        self.valid = first
        self.used: list[str] = []
        self.refused: list[str] = []
        self.count = 0

    async def exchange(self, current: str) -> tuple[str, str | None]:
        self.used.append(current)
        await asyncio.sleep(0.01)  # the HTTP round trip, during which another daemon could try
        if current != self.valid:
            self.refused.append(current)
            raise RuntimeError("invalid_grant")
        self.count += 1
        self.valid = f"token-{self.count}"
        return f"access-{self.count}", self.valid


def test_daemons_sharing_the_vault_never_use_a_replaced_token(
    tmp_path: Path, store_url: str
) -> None:
    service = RotatingService("token-0")
    vaults = []
    stores = []
    for index in range(3):  # three daemons: each its own Vault and Store on the one database
        root = tmp_path / f"d{index}"
        root.mkdir()
        vault, store = make_vault(root, store_url, env={KEY_ENV: KEY})
        vaults.append(vault)
        stores.append(store)
    vaults[0].put("sf", {"refresh_token": "token-0"})

    async def daemon(vault: Vault) -> list[str]:
        secret = vault.kept("sf", "refresh_token", "token-0")  # what each read at start-up
        return [await secret.rotate(service.exchange) for _ in range(4)]

    async def all_of_them() -> list[list[str]]:
        return await asyncio.gather(*(daemon(vault) for vault in vaults))

    results = asyncio.run(all_of_them())
    for store in stores:
        store.close()
    assert service.refused == []
    assert sorted(token for result in results for token in result) == sorted(
        f"access-{n}" for n in range(1, 13)
    )
    assert vaults[0].get("sf", "refresh_token") == "token-12"  # only the newest is kept
    with Store(store_url) as store:
        assert [row.version for row in store.secret_rows("sf")] == [13]


KEY = new_key().decode()


def test_a_rotated_env_secret_is_used_in_memory_and_said_clearly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = RotatingService("token-0")
    secret = KeptSecret(
        "token-0", connection="sf", name="refresh_token", source="env", where="${SF_REFRESH_TOKEN}"
    )
    with caplog.at_level(logging.WARNING, logger="zaplite.secrets"):
        assert asyncio.run(secret.rotate(service.exchange)) == "access-1"
        assert asyncio.run(secret.rotate(service.exchange)) == "access-2"
    assert secret.get_secret_value() == "token-2"
    assert service.refused == []
    # Said once, not at every refresh (counted among this logger's records: caplog also
    # takes what any other thread of the session logs meanwhile).
    [record] = [r for r in caplog.records if r.name == "zaplite.secrets"]
    assert "${SF_REFRESH_TOKEN}" in record.getMessage()
    assert "cannot save the new one there" in record.getMessage()
    assert "token-" not in record.getMessage()


def test_connections_take_missing_secrets_from_the_vault_and_say_where_each_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CT_PASSCODE", "PASSCODE-FROM-ENV")
    sf = {
        "app": "salesforce",
        "login_url": "http://127.0.0.1:9",
        "client_id": "cid",
        "client_secret": "lit",
    }
    ct = {"app": "clevertap", "account_id": "A", "passcode": "${CT_PASSCODE}"}
    write_config(
        tmp_path,
        {"connections.salesforce": sf, "connections.clevertap": ct},
        store_url="sqlite:///z.db",
    )
    workspace = Workspace.load(tmp_path / "zaplite.toml")
    try:
        pool = Connections(workspace.config, workspace.registry, vault=workspace.vault)
        assert pool.sources("salesforce") == {"client_secret": "file"}
        workspace.vault.put("salesforce", {"refresh_token": SECRET})
        assert pool.sources("salesforce") == {"client_secret": "file", "refresh_token": "vault"}
        assert pool.sources("clevertap") == {"passcode": "env"}
        settings = pool.settings("salesforce")
        token = settings.refresh_token
        assert isinstance(token, KeptSecret) and token.source == "vault"
        assert token.get_secret_value() == SECRET
        assert settings.client_secret.source == "file"
        assert pool.settings("clevertap").passcode.source == "env"
        assert SECRET not in repr(settings) and SECRET not in str(pool.masked("salesforce"))
    finally:
        workspace.close()
