"""What the HTTP server works with: the workspace, its store, the engine and (in a daemon) the daemon."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from zaplite.engine.health import StoreProbe
from zaplite.engine.run import Engine
from zaplite.errors import UsageError
from zaplite.plugin.api import Record
from zaplite.project.binding import BoundZap
from zaplite.project.workspace import Workspace
from zaplite.store import Store
from zaplite.web.redact import Redactor

if TYPE_CHECKING:
    from zaplite.engine.daemon import Daemon

__all__ = ["ServerContext"]


@dataclass
class ServerContext:
    """The running server's view of zaplite, handed to every page and plugin route.

    ``daemon`` is ``None`` under ``zaplite console`` (no zap is scheduled there; a
    "run now" then runs the zap once, as ``zaplite run --once`` does). ``token`` is the
    console's token (``[http] token``), or ``None`` on loopback without one.
    """

    workspace: Workspace
    engine: Engine
    daemon: Daemon | None = None
    token: str | None = field(default=None, repr=False)
    probe: StoreProbe | None = None
    ready: bool = False
    """Set once the zaps are loaded, the store is migrated and (in a daemon) scheduled."""
    started: float = field(default_factory=time.time)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    """This process's key for session cookies (a restart signs everyone out)."""
    redactor: Redactor = field(default_factory=Redactor)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Work the console started (a run, replays) that outlives its request."""

    @property
    def store(self) -> Store:
        """The store the engine records into."""
        return self.engine.store

    @property
    def zaps(self) -> dict[str, BoundZap]:
        """The zaps of this workspace's files (the daemon's running versions when there is one)."""
        if self.daemon is not None:
            merged = dict(self.workspace.zaps)
            merged.update(self.daemon.zaps)
            return merged
        return self.workspace.zaps

    async def receive(self, zap_id: str, records: list[Record]) -> int:
        """Store records pushed to the zap's instant trigger, then run the zap; how many were new.

        The records are written in ONE transaction (keyed by the trigger's dedup key; a
        key the zap already received is skipped) before this returns, so a route may
        acknowledge them to the service once it has. Raises if they could not be
        stored: then the route must not acknowledge. The daemon (if this server has
        one and schedules the zap) runs the zap at once; otherwise the stored records
        wait for the next run of whichever daemon runs it.
        """
        zap = self.zaps.get(zap_id)
        if zap is None or not zap.trigger.instant:
            raise UsageError(f"zaplite has no zap {zap_id!r} with an instant trigger.")
        items = [(zap.trigger.key_of(record), record) for record in records]
        try:
            new = await asyncio.to_thread(self.store.receive, zap_id, items)
        except Exception:
            self.engine.metrics.records_not_stored(zap_id, len(items))
            raise
        self.engine.metrics.records_received(zap_id, new, len(items) - new)
        if self.daemon is not None:
            self.daemon.wake(zap_id)
        return new

    def refused(self, zap_id: str) -> None:
        """Count a message a route refused whole for the zap (a wrong token, another org, a bad body).

        Call it only for a zap the server has (``zap_id in server.zaps``): a caller may
        name any path, and an unknown name must not become a new metric series.
        """
        if zap_id in self.zaps:
            self.engine.metrics.push_refused(zap_id)

    async def connection_of(self, zap: BoundZap) -> object:
        """The open connection object of the zap's trigger (what its polls get)."""
        return await self.engine.connections.get(zap.connection)

    def next_run_at(self, zap_id: str) -> datetime | None:
        """When this process next runs the zap, if it schedules it."""
        return self.daemon.next_run_at(zap_id) if self.daemon is not None else None
