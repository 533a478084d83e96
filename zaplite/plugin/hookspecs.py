"""The hooks a zaplite plugin implements.

A plugin is a module (or object) with functions decorated by ``zaplite.hookimpl``
whose names match the hooks below. It is found through the ``zaplite`` entry-point
group, or as a ``*.py`` file in a plugins folder (``--plugins-dir``,
``ZAPLITE_PLUGINS_DIR`` or ``[settings] plugins_dir``).
The built-in Salesforce and CleverTap apps are plugins of exactly this kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from zaplite.plugin.api import App, HttpRoute

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

    Called when a command line needs the plugins' commands (to run one, or for
    ``zaplite --help``), with a ``click.Group``: add commands with ``@cli.command()``
    (or ``cli.add_command``). They become ``zaplite`` commands and also accept
    ``--config`` and ``--plugins-dir``. A name zaplite or another plugin already
    uses is a start-up error naming the plugin. Return nothing.
    """


@hookspec
def register_routes(register: Callable[[HttpRoute], None]) -> None:
    """Add HTTP routes to the daemon's server (``zaplite run --http``, ``zaplite console``).

    Called once when the plugin manager is built. Call ``register(route)`` with each
    :class:`zaplite.HttpRoute`; its path must start with ``/hooks/`` (so that a reverse
    proxy can expose the hooks and keep the console private) and may hold starlette
    path parameters (``/hooks/shop/{zap_id}``). A path registered twice is a start-up
    error naming both plugins. Return nothing.
    """
