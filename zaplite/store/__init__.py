"""The store: everything the engine keeps durable, on SQLite or PostgreSQL.

``Store(url)`` opens the database and upgrades its schema (alembic, run from
code). The engine codes against :class:`Store` and the record dataclasses only.
"""

from __future__ import annotations

from zaplite.store.base import DEFAULT_MAX_KEYS_PER_ZAP, NotFound
from zaplite.store.connect import NotJSONCompatible, StoreUnavailable, StoreUnusable
from zaplite.store.history import RUN_STATUSES
from zaplite.store.leases import Fence, LeaseLost
from zaplite.store.overview import ConnectionStatus, ZapActivity
from zaplite.store.records import (
    TASK_STATUSES,
    KeysFull,
    NewTask,
    RunRecord,
    RunStart,
    TaskRecord,
    ZapStatus,
)
from zaplite.store.room import StoreFull
from zaplite.store.store import Store
from zaplite.store.vault import SecretRow, VaultChanged

__all__ = [
    "DEFAULT_MAX_KEYS_PER_ZAP",
    "RUN_STATUSES",
    "TASK_STATUSES",
    "ConnectionStatus",
    "Fence",
    "KeysFull",
    "LeaseLost",
    "NewTask",
    "NotFound",
    "NotJSONCompatible",
    "RunRecord",
    "RunStart",
    "SecretRow",
    "Store",
    "StoreFull",
    "StoreUnavailable",
    "StoreUnusable",
    "TaskRecord",
    "VaultChanged",
    "ZapActivity",
    "ZapStatus",
]
