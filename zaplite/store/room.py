"""Room on the disk of a SQLite store: a full disk is waited out, and a page is sent only if it fits.

SQLite answers "database or disk is full" (``SQLITE_FULL``) when the disk holding the
store (or its WAL) has no room left. That is a fault of the store, not of a zap, and it
passes when space is freed, so it is :class:`StoreFull`: the daemon stops polling, says
so once, and tries again with a backoff.

A page whose records were sent but could not be recorded is sent again by the next
run, so the engine asks :meth:`DiskRoom.check` before it sends a page: is there room
for what recording it takes? And after a write failed for want of room, a page is sent
again only once the disk has twice the room that page was expected to need (and
twice again after each further failure): the same page is never sent over and over
into a full disk.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from zaplite.errors import FileError

__all__ = ["ROOM_MARGIN", "DiskRoom", "StoreFull", "is_full"]

ROOM_MARGIN = 1024 * 1024
"""Bytes kept free beyond what a page is expected to take (indexes, the WAL, the run row)."""


class StoreFull(FileError):
    """The store's disk has no room for the next write: wait and try again; nothing is lost."""


def is_full(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver error or an ``OSError``) says the disk or database is full."""
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, OSError) and original.errno == 28:  # ENOSPC
        return True
    text = str(original).lower()
    return "database or disk is full" in text or "no space left on device" in text


def _size(count: int) -> str:
    """``count`` bytes as people read them (``2.3 MiB``)."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


class DiskRoom:
    """The free space of the disk holding one SQLite store file, as the engine needs it."""

    def __init__(self, path: Path, field: str) -> None:
        self.path = path
        self.field = field
        self._lock = threading.Lock()
        self._need = ROOM_MARGIN
        """The room the last page asked for needed (its estimate plus :data:`ROOM_MARGIN`)."""
        self._factor = 1
        """How many times that room a page needs now: doubled by each write that failed."""
        self._sent = False
        """Whether the last check let a page be sent (and no write has failed since)."""

    def free(self) -> int:
        """The bytes the store may still fill: free on its disk, and its WAL's.

        SQLite writes each transaction to the WAL before the database, and reuses the
        WAL file from its start once it has been copied into the database; a WAL that
        grew while a write failed keeps its size, but that space is the store's own.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            reusable = wal.stat().st_size
        except OSError:
            reusable = 0
        return shutil.disk_usage(self.path.parent).free + reusable

    def check(self, needed: int) -> None:
        """Raise :class:`StoreFull` unless recording about ``needed`` bytes fits on the disk now.

        ``needed`` 0 asks whether the page refused last (or whose write failed) fits now.
        """
        free = self.free()
        with self._lock:
            if needed:
                if self._sent:  # the page sent after the last check was recorded
                    self._factor = 1
                self._need = needed + ROOM_MARGIN
            want = self._need * self._factor
            self._sent = free >= want and needed > 0
            if free >= want:
                return
        raise StoreFull(
            str(self.path),
            self.field,
            f"the disk holding the store is full ({_size(free)} free for it; recording the next "
            f"page needs about {_size(want)}), so nothing is sent until there is room",
        )

    def failed(self) -> StoreFull:
        """A write failed for want of room: the error to raise, and a higher bar for the next page.

        If a page was sent since the last check, its estimate proved short: from now on
        a page needs twice the room (twice again if that fails too) until one is recorded.
        """
        with self._lock:
            if self._sent:
                self._factor = min(self._factor * 2, 1024)
            self._sent = False
        return StoreFull(
            str(self.path),
            self.field,
            f"the disk holding the store is full ({_size(self.free())} free for it), so nothing more "
            "can be recorded until there is room",
        )
