"""The hooks a zaplite plugin implements.

A plugin is a module (or object) with functions decorated by ``zaplite.hookimpl``
whose names match the hooks below. It is found through the ``zaplite`` entry-point
group, or as a ``*.py`` file in ``--plugins-dir`` / ``ZAPLITE_PLUGINS_DIR``.
The built-in Salesforce and CleverTap apps are plugins of exactly this kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from zaplite.plugin.api import App

hookspec = pluggy.HookspecMarker("zaplite")
hookimpl = pluggy.HookimplMarker("zaplite")


@hookspec
def register_apps(register: Callable[[App], None]) -> None:
    """Register the apps this plugin provides.

    Called once when the plugin manager is built. Call ``register(app)`` with each
    :class:`zaplite.App`; its triggers and actions come with it. Registering an app
    name twice (from this plugin or another) is a start-up error naming both plugins.
    Return nothing.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``zaplite`` command line.

    Called once when the CLI starts, with the top-level ``click.Group``; add
    commands with ``@cli.command()``. Return nothing.
    """
