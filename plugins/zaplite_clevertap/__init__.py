"""The built-in CleverTap app: ``upload_profile``, ``upload_event`` (Upload API), ``delete_profile``.

Written only against the public plugin API, exactly as a third-party plugin would
be, and registered through the ``zaplite`` entry-point group
(``clevertap = "zaplite_clevertap"``).
"""

from __future__ import annotations

from collections.abc import Callable

from zaplite import App, hookimpl
from zaplite_clevertap.actions import register_actions
from zaplite_clevertap.connection import (
    CleverTapClient,
    CleverTapConnection,
    check_credentials,
    connect,
)

__all__ = ["CleverTapClient", "CleverTapConnection", "app", "register_apps"]


async def test(client: CleverTapClient) -> str:
    """Check the passcode; returns ``account <id> in region <r>: passcode accepted``."""
    return await check_credentials(client)


app = App(
    "clevertap",
    label="CleverTap",
    description=(
        "Upload user profiles and events to CleverTap (the Upload API, POST /1/upload), "
        "and delete profiles."
    ),
    connection=CleverTapConnection,
    connect=connect,
    test=test,
)
register_actions(app)


@hookimpl
def register_apps(register: Callable[[App], None]) -> None:
    """Register the CleverTap app."""
    register(app)
