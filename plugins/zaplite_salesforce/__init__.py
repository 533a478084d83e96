"""The built-in Salesforce app for zaplite (work in progress)."""

from __future__ import annotations

from collections.abc import Callable

from zaplite import App, hookimpl

app = App("salesforce", label="Salesforce")


@hookimpl
def register_apps(register: Callable[[App], None]) -> None:
    """Register the Salesforce app."""
    register(app)
