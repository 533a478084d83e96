"""The built-in CleverTap app for zaplite (work in progress)."""

from __future__ import annotations

from collections.abc import Callable

from zaplite import App, hookimpl

app = App("clevertap", label="CleverTap")


@hookimpl
def register_apps(register: Callable[[App], None]) -> None:
    """Register the CleverTap app."""
    register(app)
