"""A local emulator of the Salesforce REST API (OAuth, SOQL queries with paging, sObjects, faults).

Use it from tests::

    from zaplite.sandbox.salesforce import SalesforceEmulator
    from zaplite.sandbox.server import serve_in_thread

    emu = SalesforceEmulator()
    emu.seed_demo_data()
    with serve_in_thread(emu.app) as server:
        ...  # server.url is the login URL and the instance URL

or in its own process: ``python -m zaplite.sandbox.salesforce --port 8081 --seed``.
"""

from __future__ import annotations

from .auth import SalesforceCredentials
from .data import RecordError, format_datetime
from .emulator import SalesforceEmulator
from .serve import main, serve
from .soql import SoqlError, escape_soql

__all__ = [
    "RecordError",
    "SalesforceCredentials",
    "SalesforceEmulator",
    "SoqlError",
    "escape_soql",
    "format_datetime",
    "main",
    "serve",
]
