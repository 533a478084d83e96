"""A local emulator of CleverTap's Upload API (``POST /1/upload``, ``GET /1/profile.json``).

It checks each record with the real service's codes and messages, stores what it accepts,
limits concurrency and batch size, and can inject faults; see :class:`CleverTapEmulator`.
Run it standalone with ``python -m zaplite.sandbox.clevertap --port N``.
"""

from __future__ import annotations

from zaplite.sandbox.clevertap.emulator import CleverTapEmulator
from zaplite.sandbox.clevertap.validation import RESTRICTED_EVENTS, check_record

__all__ = ["RESTRICTED_EVENTS", "CleverTapEmulator", "check_record"]
