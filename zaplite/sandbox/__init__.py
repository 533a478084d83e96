"""Local emulators of Salesforce and CleverTap, for tests, ``zaplite sandbox`` and ``zaplite demo``.

The names plugin authors use are importable from here (loaded on first use, so that
``import zaplite.sandbox`` costs nothing)::

    from zaplite.sandbox import CleverTapEmulator, SalesforceEmulator, serve_in_thread

    with serve_in_thread(SalesforceEmulator().app) as server:
        ...  # server.url: the login URL and the instance URL
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CleverTapEmulator",
    "RunningServer",
    "SalesforceEmulator",
    "free_port",
    "serve_in_thread",
]

_WHERE = {
    "CleverTapEmulator": "zaplite.sandbox.clevertap",
    "SalesforceEmulator": "zaplite.sandbox.salesforce",
    "RunningServer": "zaplite.sandbox.server",
    "free_port": "zaplite.sandbox.server",
    "serve_in_thread": "zaplite.sandbox.server",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'zaplite.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
