"""The vault's rows: connections' secrets as ciphertext, their versions and refresh claims.

The store never sees a secret in plain text: :mod:`zaplite.project.vault` encrypts
before writing and decrypts after reading. What the store adds is atomicity across
daemons sharing it: a secret is replaced only if its version is still the one read
(compare-and-swap), and a claim lets one daemon at a time exchange a secret the
service rotates, so that no daemon signs in with a token another has replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from zaplite.store.base import StoreBase
from zaplite.store.schema import vault_key, vault_secrets

__all__ = ["SecretRow", "VaultChanged", "VaultRecords"]


@dataclass(frozen=True)
class SecretRow:
    """One stored secret: whose, which, its ciphertext and its version."""

    connection: str
    name: str
    ciphertext: str
    version: int


def _row(values: sa.Row[tuple[str, str, str, int]]) -> SecretRow:
    return SecretRow(values[0], values[1], values[2], values[3])


_COLUMNS = (
    vault_secrets.c.connection,
    vault_secrets.c.name,
    vault_secrets.c.ciphertext,
    vault_secrets.c.version,
)


def _select_secret(connection: sa.Connection, connection_name: str, name: str) -> SecretRow | None:
    """The secret ``name`` of ``connection_name`` as the open transaction sees it, or ``None``."""
    values = connection.execute(
        sa.select(*_COLUMNS).where(
            vault_secrets.c.connection == connection_name, vault_secrets.c.name == name
        )
    ).first()
    return _row(values) if values is not None else None


class VaultRecords(StoreBase):
    """Reading and writing the vault's ciphertexts, each change in one atomic statement."""

    def vault_check(self) -> str | None:
        """The key-check token written when the vault's key was chosen, or ``None``."""
        with self._read() as connection:
            return connection.execute(
                sa.select(vault_key.c.check_token).where(vault_key.c.id == 1)
            ).scalar_one_or_none()

    def set_vault_check(self, token: str) -> bool:
        """Write the key-check token unless one is there; true if this call wrote it."""
        with self._write() as connection:
            statement = (
                self._insert(vault_key)
                .values(id=1, check_token=token, created_at=self._db_now(connection))
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(vault_key.c.id)
            )
            return connection.execute(statement).first() is not None

    def secret_rows(self, connection_name: str | None = None) -> list[SecretRow]:
        """Every stored secret (of one connection), ordered by connection and name."""
        query = sa.select(*_COLUMNS).order_by(vault_secrets.c.connection, vault_secrets.c.name)
        if connection_name is not None:
            query = query.where(vault_secrets.c.connection == connection_name)
        with self._read() as connection:
            return [_row(values) for values in connection.execute(query)]

    def secret_row(self, connection_name: str, name: str) -> SecretRow | None:
        """One stored secret, or ``None``."""
        with self._read() as connection:
            return _select_secret(connection, connection_name, name)

    def put_secrets(self, connection_name: str, ciphertexts: dict[str, str]) -> None:
        """Store (or overwrite) several secrets of a connection in one transaction."""
        with self._write() as connection:
            now = self._db_now(connection)
            for name, ciphertext in ciphertexts.items():
                statement = self._insert(vault_secrets).values(
                    connection=connection_name,
                    name=name,
                    ciphertext=ciphertext,
                    version=1,
                    updated_at=now,
                )
                statement = statement.on_conflict_do_update(
                    index_elements=["connection", "name"],
                    set_={
                        "ciphertext": statement.excluded.ciphertext,
                        "version": vault_secrets.c.version + 1,
                        "updated_at": statement.excluded.updated_at,
                        "claimed_by": None,
                        "claimed_until": None,
                    },
                )
                connection.execute(statement)

    def replace_secret(
        self, connection_name: str, name: str, ciphertext: str, *, version: int
    ) -> bool:
        """Replace a secret if it is still at ``version`` (and release any claim on it).

        False when another writer replaced it first: the caller must not assume its
        value is the stored one.
        """
        with self._write() as connection:
            result = connection.execute(
                sa.update(vault_secrets)
                .where(
                    vault_secrets.c.connection == connection_name,
                    vault_secrets.c.name == name,
                    vault_secrets.c.version == version,
                )
                .values(
                    ciphertext=ciphertext,
                    version=version + 1,
                    updated_at=self._db_now(connection),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            return result.rowcount == 1

    def claim_secret(
        self, connection_name: str, name: str, owner: str, ttl: float
    ) -> SecretRow | None:
        """Claim a secret for ``ttl`` seconds if nobody else holds a live claim on it.

        Returns the row as it is under the claim (to be used and, if the service
        rotates it, replaced with :meth:`replace_secret`), or ``None`` when another
        owner holds the claim or the secret is gone.
        """
        with self._write() as connection:
            now = self._db_now(connection)
            free = sa.or_(
                vault_secrets.c.claimed_by.is_(None),
                vault_secrets.c.claimed_by == owner,
                vault_secrets.c.claimed_until <= now,
            )
            result = connection.execute(
                sa.update(vault_secrets)
                .where(
                    vault_secrets.c.connection == connection_name,
                    vault_secrets.c.name == name,
                    free,
                )
                .values(claimed_by=owner, claimed_until=now + timedelta(seconds=ttl))
            )
            if result.rowcount != 1:
                return None
            return _select_secret(connection, connection_name, name)

    def release_secret(self, connection_name: str, name: str, owner: str) -> None:
        """Give up our claim on a secret (nothing happens if it is not ours)."""
        with self._write() as connection:
            connection.execute(
                sa.update(vault_secrets)
                .where(
                    vault_secrets.c.connection == connection_name,
                    vault_secrets.c.name == name,
                    vault_secrets.c.claimed_by == owner,
                )
                .values(claimed_by=None, claimed_until=None)
            )

    def delete_secrets(self, connection_name: str, names: Iterable[str] | None = None) -> int:
        """Delete a connection's secrets (all, or those named); returns how many went."""
        statement = sa.delete(vault_secrets).where(vault_secrets.c.connection == connection_name)
        if names is not None:
            statement = statement.where(vault_secrets.c.name.in_(list(names)))
        with self._write() as connection:
            return connection.execute(statement).rowcount

    def reencrypt_vault(self, check_token: str, rows: Iterable[SecretRow]) -> None:
        """Write every secret's new ciphertext and the new key check in ONE transaction.

        Each row is written only if its version is unchanged since it was read; a
        secret replaced meanwhile aborts the whole change (nothing is written).
        """
        with self._write() as connection:
            for row in rows:
                result = connection.execute(
                    sa.update(vault_secrets)
                    .where(
                        vault_secrets.c.connection == row.connection,
                        vault_secrets.c.name == row.name,
                        vault_secrets.c.version == row.version,
                    )
                    .values(ciphertext=row.ciphertext)
                )
                if result.rowcount != 1:
                    raise VaultChanged(row.connection, row.name)
            updated = connection.execute(
                sa.update(vault_key).where(vault_key.c.id == 1).values(check_token=check_token)
            )
            if updated.rowcount != 1:
                connection.execute(
                    sa.insert(vault_key).values(
                        id=1, check_token=check_token, created_at=self._db_now(connection)
                    )
                )


class VaultChanged(Exception):
    """A secret changed while the whole vault was being re-encrypted."""

    def __init__(self, connection_name: str, name: str) -> None:
        super().__init__(f"{connection_name}.{name}")
        self.connection_name = connection_name
        self.name = name
