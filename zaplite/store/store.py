"""The :class:`Store`: everything the engine keeps durable, behind one small API.

Each part of the store lives in its own module; :class:`Store` is all of them:

- :mod:`zaplite.store.base`: opening and migrating the database, transactions.
- :mod:`zaplite.store.pages`: cursors, dedup keys, trigger state, a page's commit.
- :mod:`zaplite.store.history`: runs and tasks.
- :mod:`zaplite.store.status`: paused zaps, authentication failures, samples.
- :mod:`zaplite.store.leases`: which daemon runs which zap.
- :mod:`zaplite.store.overview`: the console's reads, and the connections' status.
- :mod:`zaplite.store.vault`: the credential vault's ciphertexts, versions and claims.
- :mod:`zaplite.store.apicalls`: the API calls made through each connection, per hour.
- :mod:`zaplite.store.inbox`: records pushed to instant triggers, until delivered.
"""

from __future__ import annotations

from zaplite.store.apicalls import ApiCalls
from zaplite.store.history import History
from zaplite.store.inbox import ReceivedRecords
from zaplite.store.leases import Leases
from zaplite.store.overview import Overview
from zaplite.store.pages import PageRecords
from zaplite.store.status import ZapStatuses
from zaplite.store.vault import VaultRecords

__all__ = ["Store"]


class Store(
    PageRecords, History, ZapStatuses, Leases, Overview, VaultRecords, ApiCalls, ReceivedRecords
):
    """The durable memory of zaplite: cursors, dedup keys, trigger state, runs, tasks, leases.

    ``Store(url)`` opens (and, with ``create``, creates) the database and upgrades
    its schema to this release. Any problem opening it is a
    :class:`~zaplite.errors.FileError` naming the file or the masked URL.
    """
