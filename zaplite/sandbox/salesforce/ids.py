"""Salesforce-style record ids: 15 case-sensitive characters plus a 3-character case checksum.

Ids are issued from one counter per org, written in base 62 with the digits in ASCII
order, so that comparing two ids as strings orders them by creation, as ``ORDER BY Id``
and keyset filters (``Id > '...'``) expect.
"""

from __future__ import annotations

import itertools
import re
import threading

__all__ = ["IdFactory", "is_valid_id", "normalize_id", "to_18"]

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[A-Z0-5]{3})?$")
POD = "RO"


def to_18(id15: str) -> str:
    """The 18-character form of a 15-character id (the suffix encodes which letters are upper case)."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a well-formed 15- or 18-character id (with a correct checksum)."""
    if not _ID_RE.match(value):
        return False
    return len(value) == 15 or to_18(value[:15]) == value


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or ``None`` when it is not an id."""
    if not is_valid_id(value):
        return None
    return to_18(value) if len(value) == 15 else value


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    if number:
        raise OverflowError("the id counter is exhausted")
    return "".join(reversed(digits))


class IdFactory:
    """Issues ids in creation order: ``<key prefix><pod>0<9 base-62 digits><checksum>``."""

    def __init__(self, start: int = 4_000_000) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new(self, key_prefix: str) -> str:
        """A fresh 18-character id for an object whose key prefix is ``key_prefix``."""
        with self._lock:
            number = next(self._counter)
        return to_18(f"{key_prefix}{POD}0{_base62(number, 9)}")
