"""Copying a live SQLite store, as a user would, and checking what the copy holds."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CopyCheck", "backup_copy", "check_copy", "naive_copy"]


def naive_copy(db: Path, folder: Path) -> Path:
    """``cp zaplite.db* folder/``: the file, then its -wal and -shm, whatever is there."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = db.with_name(db.name + suffix)
        with contextlib.suppress(FileNotFoundError):  # a -wal may vanish while copying
            shutil.copyfile(source, folder / source.name)
    return folder / db.name


def backup_copy(db: Path, folder: Path) -> Path:
    """A copy made with sqlite3's online backup API (one consistent snapshot)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / db.name
    source = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()
    return target


@dataclass
class CopyCheck:
    """What a copied store holds, per zap: tasks, dedup keys, and whether the cursor agrees."""

    integrity: str
    tasks: int
    keys: int
    last_task_record_id: str | None
    cursor_id: str | None

    @property
    def consistent(self) -> bool:
        """Every task has its key, and the cursor stands exactly after the last task's record."""
        return (
            self.integrity == "ok"
            and self.tasks == self.keys
            and self.last_task_record_id == self.cursor_id
        )


def check_copy(db: Path, zap_id: str) -> CopyCheck:
    """Read the copy with plain sqlite3 (after zaplite has opened it)."""
    connection = sqlite3.connect(db, timeout=30)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        tasks = connection.execute("SELECT count(*) FROM tasks WHERE zap_id = ?", (zap_id,))
        keys = connection.execute("SELECT count(*) FROM zap_keys WHERE zap_id = ?", (zap_id,))
        last = connection.execute(
            "SELECT record FROM tasks WHERE zap_id = ? ORDER BY id DESC LIMIT 1", (zap_id,)
        ).fetchone()
        cursor = connection.execute(
            "SELECT cursor FROM zap_cursors WHERE zap_id = ?", (zap_id,)
        ).fetchone()
        cursor_value = json.loads(cursor[0]) if cursor and cursor[0] else None
        return CopyCheck(
            integrity=str(integrity),
            tasks=int(tasks.fetchone()[0]),
            keys=int(keys.fetchone()[0]),
            last_task_record_id=json.loads(last[0]).get("Id") if last else None,
            cursor_id=(cursor_value or {}).get("id") if isinstance(cursor_value, dict) else None,
        )
    finally:
        connection.close()
