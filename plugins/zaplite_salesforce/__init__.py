"""The built-in Salesforce app: polls for new, changed and deleted records; takes outbound messages.

Written only against zaplite's public plugin API, exactly as a third-party plugin
would be, and registered through the ``zaplite`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable

from zaplite import App, HttpRoute, hookimpl
from zaplite_salesforce.connection import SalesforceClient, connect, verify_connection
from zaplite_salesforce.deleted import DeletedRecordParams, add_deleted_trigger
from zaplite_salesforce.outbound import OutboundMessageParams, add_outbound_trigger, outbound_route
from zaplite_salesforce.settings import SalesforceSettings
from zaplite_salesforce.triggers import (
    NewContactParams,
    NewRecordParams,
    UpdatedRecordParams,
    add_triggers,
)

__all__ = [
    "DeletedRecordParams",
    "NewContactParams",
    "NewRecordParams",
    "OutboundMessageParams",
    "SalesforceClient",
    "SalesforceSettings",
    "UpdatedRecordParams",
    "app",
    "register_apps",
    "register_routes",
]

app = App(
    "salesforce",
    label="Salesforce",
    description="Polls Salesforce for new, updated and deleted records (REST API, OAuth 2.0).",
    connection=SalesforceSettings,
    connect=connect,
    test=verify_connection,
    api_use=SalesforceClient.api_use,
)
add_triggers(app)
add_deleted_trigger(app)
add_outbound_trigger(app)


@hookimpl
def register_apps(register: Callable[[App], None]) -> None:
    """Register the Salesforce app."""
    register(app)


@hookimpl
def register_routes(register: Callable[[HttpRoute], None]) -> None:
    """Register the route Salesforce sends outbound messages to (``/hooks/salesforce/<zap id>``)."""
    register(outbound_route())
