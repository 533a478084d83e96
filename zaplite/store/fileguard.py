"""The SQLite store file's guard: noticing a store deleted or replaced, and never starting over.

SQLite keeps writing into a file that was deleted while it was open, so a daemon whose
store is removed (``rm zaplite.db*``) or replaced (a backup copied over it) would go on
recording into a file nobody will ever read, and the next start would create an empty
store: records delivered before would be delivered again (``start: "all"``) or records
created meanwhile never delivered (``start: "now"``).

:class:`FileGuard` remembers the file's identity (device and inode) when the store is
opened and checks it before each use of the store; a store whose file is gone or is
another file is :class:`~zaplite.store.connect.StoreUnusable`. A marker beside the file
(``.zaplite.db.created`` for ``zaplite.db``, which ``rm zaplite.db*`` leaves) says that a
store existed there: a missing store file is then refused rather than created anew,
unless a new store is asked for (``zaplite run --new-store``).
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

from zaplite.errors import FileError
from zaplite.store.connect import FIELD, StoreUnusable

__all__ = ["FileGuard", "marker_path"]


def marker_path(path: Path) -> Path:
    """The marker beside the store file ``path``: ``.NAME.created`` in the same folder."""
    return path.with_name(f".{path.name}.created")


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), or ``None`` if there is no file at ``path``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


class FileGuard:
    """The identity of one open SQLite store file, and the marker that says a store existed."""

    def __init__(self, path: str) -> None:
        self.path = Path(os.path.abspath(path))
        self.marker = marker_path(self.path)
        self._identity: tuple[int, int] | None = None

    def before_open(self, *, create: bool, new_store: bool) -> bool:
        """Check that opening may create the file; whether the store file is new.

        A missing file where the marker says a store existed is refused (one sentence)
        unless ``new_store``.
        """
        if self.path.exists():
            return False
        if create and not new_store and self.marker.exists():
            raise FileError(
                str(self.path),
                FIELD,
                f"the store file is missing, but a store existed here (the marker "
                f"{self.marker.name} beside it says so); restore it from a backup, or run "
                f"`zaplite run --new-store` to start an empty store (records it had "
                f"delivered may then be delivered again)",
            )
        return True

    def opened(self, *, created: bool) -> None:
        """Remember the open file's identity; mark a store zaplite has just created."""
        self._identity = _identity(self.path)
        if created:
            self.mark()

    def mark(self) -> None:
        """Write the marker if it is missing (quietly skipped where the folder is not writable)."""
        if self.marker.exists():
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = (
            f"zaplite keeps its store in {self.path.name} here (since {stamp} or before).\n"
            f"If {self.path.name} is missing, zaplite refuses to start over with an empty\n"
            f"store: restore it from a backup, or run `zaplite run --new-store`.\n"
        )
        with contextlib.suppress(OSError):
            self.marker.write_text(text, encoding="utf-8")

    def check(self) -> None:
        """Raise :class:`StoreUnusable` if the store file was deleted or replaced since it was opened."""
        if self._identity is None:
            return
        now = _identity(self.path)
        if now == self._identity:
            return
        what = "deleted" if now is None else "replaced by another file"
        raise StoreUnusable(
            str(self.path),
            FIELD,
            f"the store file was {what} while zaplite was using it, so nothing more can be "
            f"recorded; zaplite stopped before sending anything it could not record",
        )
