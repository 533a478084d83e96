"""Query locators: the snapshot behind ``nextRecordsUrl``, bounded in number and age."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .ids import IdFactory
from .soql import CompiledQuery

__all__ = ["Cursor", "CursorStore", "parse_locator"]


@dataclass
class Cursor:
    """An open query result: the matched rows (a snapshot) and how to project them."""

    compiled: CompiledQuery
    rows: list[dict[str, Any]]
    touched: float = field(default_factory=time.monotonic)


def parse_locator(text: str) -> tuple[str, int] | None:
    """``(locator id, offset)`` from ``01gRO...-2000``, or ``None`` when it is not one."""
    locator, sep, offset = text.rpartition("-")
    if not sep or not locator or not offset.isdigit():
        return None
    return locator, int(offset)


class CursorStore:
    """Open cursors by locator id: the oldest are dropped beyond ``max_open``; idle ones expire."""

    def __init__(self, *, max_open: int = 50, idle_ttl: float = 15 * 60) -> None:
        self.max_open = max_open
        self.idle_ttl = idle_ttl
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._ids = IdFactory(start=1_000)
        self._lock = threading.Lock()

    def open(self, cursor: Cursor) -> str:
        """Keep ``cursor`` and return its new locator id."""
        locator = self._ids.new("01g")
        with self._lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > self.max_open:
                self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str) -> Cursor | None:
        """The open cursor ``locator``, or ``None`` when it is unknown, dropped or expired."""
        now = time.monotonic()
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None:
                return None
            if now - cursor.touched > self.idle_ttl:
                del self._cursors[locator]
                return None
            cursor.touched = now
            self._cursors.move_to_end(locator)
            return cursor

    def clear(self) -> None:
        """Invalidate every open cursor."""
        with self._lock:
            self._cursors.clear()

    def __len__(self) -> int:
        return len(self._cursors)
