"""The credential vault: connections' secrets encrypted (Fernet) in the store.

The key is ``ZAPLITE_SECRET_KEY`` when it is set, else the key file (``zaplite.key``
beside ``zaplite.toml``, or ``[vault] key_file``), created with mode 0600 the first
time a secret is saved. The store holds only ciphertext, plus one known text
encrypted under the key, so that a wrong key is one clear sentence naming where the
key was looked for, and nothing is ever written under it.

:class:`Vault` is what commands use (get, put, forget, re-encrypt under a new key);
:class:`VaultKeeper` rotates one secret for a plugin (see
:class:`~zaplite.plugin.secrets.KeptSecret`): it claims the secret in the store, hands
the plugin the value stored now, and saves the service's new value (compare-and-swap
on the row's version) before the plugin may use what it got with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from zaplite.errors import AuthError, FileError, UsageError
from zaplite.plugin.secrets import Exchange, KeptSecret
from zaplite.project.config import Config, read_user_file
from zaplite.store import SecretRow, VaultChanged

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from zaplite.store import Store

__all__ = ["KEY_ENV", "NEW_KEY_ENV", "Vault", "VaultKeeper", "VaultKeyError", "process_owner"]

KEY_ENV = "ZAPLITE_SECRET_KEY"
"""The environment variable holding the vault key (it wins over the key file)."""
NEW_KEY_ENV = "ZAPLITE_NEW_SECRET_KEY"
"""Where ``zaplite vault rotate-key`` takes the new key from when the key is in ``KEY_ENV``."""

CHECK_TEXT = b"zaplite vault key check"
CLAIM_SECONDS = 90.0
"""How long a daemon may hold a secret while it exchanges it (a sign-in takes seconds)."""
CLAIM_POLL = 0.2
"""How often a daemon looks whether another's claim on a secret is over."""

T = TypeVar("T")


class VaultKeyError(UsageError):
    """The vault key is missing, malformed, or not the one the store's secrets are under."""


def process_owner() -> str:
    """A name for this process in the vault's claims: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _fernet(key: bytes, where: str) -> Fernet:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.strip())
    except (ValueError, TypeError):
        raise VaultKeyError(
            f"The vault key in {where} is not a vault key (44 characters of URL-safe base64, "
            "as `zaplite vault rotate-key` writes)."
        ) from None


def _opens(cipher: Fernet, check: str) -> bool:
    """Whether ``cipher`` decrypts the store's key check."""
    from cryptography.fernet import InvalidToken

    try:
        return cipher.decrypt(check.encode()) == CHECK_TEXT
    except InvalidToken:
        return False


def new_key() -> bytes:
    """A fresh random vault key."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key()


def write_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` with mode 0600, atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


class Vault:
    """The encrypted secrets of a project's connections, in its store.

    ``store`` is called the first time the vault needs the store (most commands never
    do). ``env`` (default ``os.environ``) is where ``ZAPLITE_SECRET_KEY`` is looked up.
    """

    def __init__(
        self,
        config: Config,
        store: Callable[[], Store],
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self._open_store = store
        self._env = os.environ if env is None else env
        self._cipher: Fernet | None = None
        self.owner = process_owner()

    # ------------------------------------------------------------------ the key

    @property
    def key_file(self) -> Path:
        """The key file used when ``ZAPLITE_SECRET_KEY`` is unset."""
        return self.config.vault.key_file

    @property
    def key_from_env(self) -> bool:
        """Whether the key comes from ``ZAPLITE_SECRET_KEY``."""
        return bool(self._env.get(KEY_ENV, "").strip())

    def key_location(self) -> str:
        """Where the key is looked for, for messages."""
        if self.key_from_env:
            return f"${KEY_ENV}"
        return str(self.key_file)

    @property
    def store(self) -> Store:
        """The store the secrets are kept in."""
        return self._open_store()

    def _read_key(self) -> bytes | None:
        if self.key_from_env:
            return self._env[KEY_ENV].strip().encode()
        try:
            text = read_user_file(self.key_file, str(self.key_file), "vault key file")
        except FileError as error:  # a pipe or device is refused, never waited on or read
            if not self.key_file.exists():
                return None
            raise VaultKeyError(f"The vault key file {self.key_file} {error.reason}.") from None
        return text.strip().encode()

    def cipher(self, *, create: bool = False) -> Fernet:
        """The key as a cipher, checked against the store; ``create`` makes a key file if none.

        Raises :class:`VaultKeyError` naming where the key was looked for.
        """
        if self._cipher is not None:
            return self._cipher
        check = self.store.vault_check()
        key = self._read_key()
        if key is None:
            if not create or check is not None:
                raise VaultKeyError(
                    f"The vault key was not found: {KEY_ENV} is not set and the key file "
                    f"{self.key_file} does not exist"
                    + (" (the store holds secrets encrypted under a key)." if check else ".")
                )
            key = new_key()
            write_key_file(self.key_file, key)
        cipher = _fernet(key, self.key_location())
        if check is None and not self.store.set_vault_check(cipher.encrypt(CHECK_TEXT).decode()):
            check = self.store.vault_check()  # another process chose the key first
        if check is not None and not _opens(cipher, check):
            cipher = self._recover_key(check) or cipher
            if not _opens(cipher, check):
                raise VaultKeyError(
                    f"The vault key in {self.key_location()} is not the key this store's "
                    f"secrets are encrypted under ({self._where_stored()})."
                )
        self._cipher = cipher
        return cipher

    def _recover_key(self, check: str) -> Fernet | None:
        """The key a ``rotate-key`` interrupted after its commit left in ``<key file>.new``.

        If that key opens the store, the rename the rotation did not get to is done now.
        """
        staged = self.key_file.with_name(self.key_file.name + ".new")
        if self.key_from_env or not staged.exists():
            return None
        try:
            cipher = _fernet(staged.read_bytes(), str(staged))
        except (OSError, VaultKeyError):
            return None
        if not _opens(cipher, check):
            return None
        os.replace(staged, self.key_file)
        return cipher

    def _where_stored(self) -> str:
        from zaplite.store.connect import location, parse_url

        return location(parse_url(self.config.store_url))

    def _decrypt(self, row: SecretRow) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self.cipher().decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            pass
        self._cipher = None  # `zaplite vault rotate-key` may have run since: read the key again
        try:
            return self.cipher().decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            raise VaultKeyError(
                f"The vault's {row.name} of connection {row.connection!r} does not open with "
                f"the key in {self.key_location()}."
            ) from None

    def _encrypt(self, value: str) -> str:
        return self.cipher(create=True).encrypt(value.encode()).decode()

    # ------------------------------------------------------------------ secrets

    def exists(self) -> bool:
        """Whether there can be a vault at all: false for a SQLite store not created yet.

        Reading commands (``validate``, ``connections``) must not create the database
        just to find it holds no secrets.
        """
        from zaplite.store.connect import parse_url, sqlite_path

        path = sqlite_path(parse_url(self.config.store_url))
        return path is None or Path(path).exists()

    def names(self, connection: str) -> list[str]:
        """The names of the secrets stored for ``connection`` (no key needed)."""
        if not self.exists():
            return []
        return [row.name for row in self.store.secret_rows(connection)]

    def get(self, connection: str, name: str) -> str | None:
        """The stored secret, decrypted, or ``None`` when there is none (no key needed then)."""
        if not self.exists():
            return None
        row = self.store.secret_row(connection, name)
        return self._decrypt(row) if row is not None else None

    def put(self, connection: str, values: Mapping[str, str]) -> None:
        """Store ``values`` (name: secret) for ``connection``, encrypted, in one transaction."""
        self.store.check_writable()
        ciphertexts = {name: self._encrypt(value) for name, value in values.items()}
        self.store.put_secrets(connection, ciphertexts)

    def forget(self, connection: str, names: list[str] | None = None) -> int:
        """Delete the connection's secrets (all, or those named); returns how many."""
        return self.store.delete_secrets(connection, names)

    def rotate_key(self) -> tuple[int, str]:
        """Re-encrypt every secret under a new key; returns (how many, where the new key is).

        With the key in a file, the new key is written beside it first (``.new``), the
        store is re-encrypted in one transaction, and the file is then renamed over the
        old one: a crash in between leaves a key that opens the store, which the next
        process to open the vault puts in place. With ``ZAPLITE_SECRET_KEY`` the new key is read from
        ``ZAPLITE_NEW_SECRET_KEY``, for the person to set afterwards.
        """
        old = self.cipher()
        rows = self.store.secret_rows()
        plain = [(row, old.decrypt(row.ciphertext.encode())) for row in rows]
        if self.key_from_env:
            raw = self._env.get(NEW_KEY_ENV, "").strip().encode()
            if not raw:
                raise VaultKeyError(
                    f"The vault key comes from ${KEY_ENV}: set ${NEW_KEY_ENV} to the new key "
                    "(python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'), run this again, then put the new "
                    f"key in ${KEY_ENV}."
                )
            key, staged = raw, None
            where = f"${NEW_KEY_ENV}"
        else:
            key = new_key()
            staged = self.key_file.with_name(self.key_file.name + ".new")
            write_key_file(staged, key)
            where = str(self.key_file)
        cipher = _fernet(key, where)
        new_rows = [
            SecretRow(row.connection, row.name, cipher.encrypt(value).decode(), row.version)
            for row, value in plain
        ]
        try:
            self.store.reencrypt_vault(cipher.encrypt(CHECK_TEXT).decode(), new_rows)
        except VaultChanged as changed:
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise UsageError(
                f"The {changed.name} of connection {changed.connection_name!r} changed while "
                "the vault was being re-encrypted (a daemon rotated it); nothing was changed, "
                "run this again."
            ) from None
        if staged is not None:
            os.replace(staged, self.key_file)
        self._cipher = cipher
        return len(rows), where

    # ------------------------------------------------------------------ for plugins

    def kept(self, connection: str, name: str, value: str) -> KeptSecret:
        """A vault secret as a plugin gets it, rotated through a :class:`VaultKeeper`."""
        return KeptSecret(
            value,
            connection=connection,
            name=name,
            source="vault",
            where="the vault",
            keeper=VaultKeeper(self),
        )


class VaultKeeper:
    """Rotates a vault secret: one process at a time, the new value saved before it is used."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def rotate(self, secret: KeptSecret, exchange: Exchange[T]) -> T:
        """Claim the secret, exchange the value stored now, save any new one, release the claim."""
        store = self.vault.store
        owner = self.vault.owner
        waited = 0.0
        while True:
            row = await asyncio.to_thread(
                store.claim_secret, secret.connection, secret.name, owner, CLAIM_SECONDS
            )
            if row is not None:
                break
            if await asyncio.to_thread(store.secret_row, secret.connection, secret.name) is None:
                raise AuthError(
                    f"The {secret.name} of connection {secret.connection!r} is no longer in the "
                    "vault (disconnected?); connect it again with `zaplite connect`."
                )
            if waited >= CLAIM_SECONDS:
                raise AuthError(
                    f"Another zaplite process has been signing in with connection "
                    f"{secret.connection!r} for {CLAIM_SECONDS:g} s; trying again later."
                )
            await asyncio.sleep(CLAIM_POLL)
            waited += CLAIM_POLL
        released = False
        try:
            current = self.vault._decrypt(row)
            secret.replace_value(current)
            result, new = await exchange(current)
            if new and new != current:
                ciphertext = self.vault._encrypt(new)
                saved = await asyncio.to_thread(
                    store.replace_secret,
                    secret.connection,
                    secret.name,
                    ciphertext,
                    version=row.version,
                )
                released = True
                if not saved:
                    raise AuthError(
                        f"The {secret.name} of connection {secret.connection!r} was replaced "
                        "in the vault while this process held it; signing in again."
                    )
                secret.replace_value(new)
            return result
        finally:
            if not released:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(
                        store.release_secret, secret.connection, secret.name, owner
                    )
