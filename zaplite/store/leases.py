"""Leases: which daemon runs a zap, one at a time, across daemons sharing the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa

from zaplite.errors import ZapliteError
from zaplite.store.base import StoreBase, chunks
from zaplite.store.schema import leases

__all__ = ["Fence", "LeaseLost", "Leases", "check_fence"]

Fence = tuple[str, int]
"""A fencing token: the lease's holder and the generation it was taken at."""


class LeaseLost(ZapliteError):
    """The zap's lease is no longer ours at the generation we took it: another daemon runs it now.

    Raised by :meth:`Leases.check_lease` and by ``commit_page`` with a fence; nothing of
    the page was recorded, and the daemon that holds the lease now delivers it.
    """

    def __init__(self, zap_id: str) -> None:
        super().__init__(
            f"zap {zap_id}: another daemon took the lease; this one sends and records "
            "nothing more, and leaves the page in flight to it"
        )
        self.zap_id = zap_id


class Leases(StoreBase):
    """Taking, renewing and giving up zaps' leases, each in one atomic statement."""

    def acquire_lease(
        self, zap_id: str, owner: str, ttl: float, *, replacing: str | None = None
    ) -> int | None:
        """Take the zap's lease for ``ttl`` seconds if it is free, expired or already ours.

        Returns the lease's new generation (a positive number: the fencing token, see
        :meth:`check_lease`), or ``None`` if another holder has it. Every taking gives a
        new generation, larger than any the zap's lease had (the microseconds of the
        store's clock, or one more than the last); renewals keep it.

        ``replacing`` names a holder known to be gone (a daemon that crashed): its
        lease is taken over before it expires. One atomic statement (``INSERT ... ON
        CONFLICT DO UPDATE ... WHERE``), so two daemons racing for the same zap cannot
        both win.
        """
        with self._write() as connection:
            now = self._db_now(connection)
            statement = self._insert(leases).values(
                zap_id=zap_id,
                owner=owner,
                expires_at=now + timedelta(seconds=ttl),
                generation=int(now.timestamp() * 1_000_000),
            )
            free = [leases.c.owner == statement.excluded.owner, leases.c.expires_at <= now]
            if replacing is not None:
                free.append(leases.c.owner == replacing)
            statement = statement.on_conflict_do_update(
                index_elements=["zap_id"],
                set_={
                    "owner": statement.excluded.owner,
                    "expires_at": statement.excluded.expires_at,
                    "generation": sa.case(
                        (
                            leases.c.generation >= statement.excluded.generation,
                            leases.c.generation + 1,
                        ),
                        else_=statement.excluded.generation,
                    ),
                },
                where=sa.or_(*free),
            ).returning(leases.c.generation)
            row = connection.execute(statement).first()
            return None if row is None else int(row[0])

    def check_lease(self, zap_id: str, fence: Fence) -> None:
        """Raise :class:`LeaseLost` unless the zap's lease is still ``fence``'s holder's at its generation.

        An expired lease nobody took since is still ours: no other daemon has run the
        zap meanwhile.
        """
        with self._read() as connection:
            if connection.execute(_fenced(zap_id, fence)).first() is None:
                raise LeaseLost(zap_id)

    def lease_holder(self, zap_id: str) -> str | None:
        """Who holds the zap's lease (expired or not), or ``None``."""
        with self._read() as connection:
            return connection.execute(
                sa.select(leases.c.owner).where(leases.c.zap_id == zap_id)
            ).scalar_one_or_none()

    def renew_lease(self, zap_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease by ``ttl`` seconds from now; false if it is no longer ours."""
        with self._write() as connection:
            now = self._db_now(connection)
            result = connection.execute(
                sa.update(leases)
                .where(leases.c.zap_id == zap_id, leases.c.owner == owner)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            return result.rowcount == 1

    def release_lease(self, zap_id: str, owner: str) -> None:
        """Give the lease up (only if it is ours), so another daemon may take it at once."""
        with self._write() as connection:
            connection.execute(
                sa.delete(leases).where(leases.c.zap_id == zap_id, leases.c.owner == owner)
            )

    def renew_leases(self, owner: str, zap_ids: Iterable[str], ttl: float) -> set[str]:
        """Extend each of our leases on ``zap_ids`` by ``ttl`` seconds from now, in one transaction.

        Returns the zaps whose lease is still ours; a lease another daemon took (once
        ours had expired) is left alone and is missing from the result.
        """
        wanted = list(dict.fromkeys(zap_ids))
        kept: set[str] = set()
        if not wanted:
            return kept
        with self._write() as connection:
            expires_at = self._db_now(connection) + timedelta(seconds=ttl)
            for chunk in chunks(wanted):
                kept.update(
                    connection.execute(
                        sa.update(leases)
                        .where(leases.c.owner == owner, leases.c.zap_id.in_(list(chunk)))
                        .values(expires_at=expires_at)
                        .returning(leases.c.zap_id)
                    ).scalars()
                )
        return kept

    def release_leases(self, owner: str, zap_ids: Iterable[str] | None = None) -> None:
        """Give up our leases on ``zap_ids`` (all of ``owner``'s leases if ``None``), in one transaction."""
        with self._write() as connection:
            if zap_ids is None:
                connection.execute(sa.delete(leases).where(leases.c.owner == owner))
                return
            for chunk in chunks(list(dict.fromkeys(zap_ids))):
                connection.execute(
                    sa.delete(leases).where(
                        leases.c.owner == owner, leases.c.zap_id.in_(list(chunk))
                    )
                )


def _fenced(zap_id: str, fence: Fence) -> sa.Select[tuple[str]]:
    """The zap's lease row if ``fence``'s holder still has it at ``fence``'s generation."""
    owner, generation = fence
    return sa.select(leases.c.zap_id).where(
        leases.c.zap_id == zap_id, leases.c.owner == owner, leases.c.generation == generation
    )


def check_fence(connection: sa.Connection, zap_id: str, fence: Fence) -> None:
    """Inside a write transaction: raise :class:`LeaseLost` unless ``fence`` still holds.

    On PostgreSQL the lease row is locked until the transaction ends, so a daemon taking
    the lease over waits for this transaction (a page's commit, whose keys it then sees);
    SQLite's write transactions are serialised already.
    """
    query = _fenced(zap_id, fence)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    if connection.execute(query).first() is None:
        raise LeaseLost(zap_id)
