"""The commands plugins add (``register_commands``), loaded the way every command loads plugins.

Click parses a command's options only after it has found the command, so the
``--config`` and ``--plugins-dir`` that choose the plugins are read ahead from the
command's arguments (:func:`look_ahead`). With them, the environment
(``ZAPLITE_CONFIG``, ``ZAPLITE_PLUGINS_DIR``) and ``./zaplite.toml``'s
``[settings] plugins_dir``, the plugins are those
:meth:`~zaplite.project.workspace.Workspace.load` loads for a built-in command.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pluggy

from zaplite.errors import StartupError
from zaplite.plugin.calls import describe_error
from zaplite.project.workspace import plugin_manager

__all__ = ["PluginChoice", "collect_commands", "look_ahead", "plugin_choice", "plugin_commands"]

_CONFIG = "--config"
_PLUGINS_DIR = "--plugins-dir"


@dataclass(frozen=True)
class PluginChoice:
    """Which plugins the commands load besides a plugins folder.

    ``zaplite.testing`` passes its plugin objects this way (as click's ``obj``), so a
    command run in-process sees the plugins a test registered.
    """

    objects: tuple[Any, ...] = ()
    """Plugin objects (modules or instances with hook implementations) to register."""
    entry_points: bool = True
    """Whether the installed plugins (the ``zaplite`` entry-point group) load."""


def plugin_choice(ctx: click.Context | None = None) -> PluginChoice:
    """The :class:`PluginChoice` of the running command (the default one outside the test kit)."""
    ctx = ctx or click.get_current_context(silent=True)
    found = ctx.find_object(PluginChoice) if ctx is not None else None
    return found or PluginChoice()


def look_ahead(args: Sequence[str]) -> tuple[Path | None, Path | None]:
    """The ``--config`` and ``--plugins-dir`` given in a command's arguments, before click parses them."""
    found: dict[str, Path] = {}
    items = list(args)
    for index, arg in enumerate(items):
        if arg == "--":
            break
        for option in (_CONFIG, _PLUGINS_DIR):
            if arg == option and index + 1 < len(items):
                found[option] = Path(items[index + 1])
            elif arg.startswith(option + "="):
                found[option] = Path(arg.partition("=")[2])
    return found.get(_CONFIG), found.get(_PLUGINS_DIR)


def plugin_commands(
    args: Sequence[str], choice: PluginChoice, reserved: Iterable[str]
) -> dict[str, click.Command]:
    """The plugins' commands for a command line whose command's arguments are ``args``.

    Raises :class:`~zaplite.errors.FileError` or :class:`StartupError` (one sentence,
    exit 2) when the config or a plugin cannot be loaded.
    """
    config_path, plugins_dir = look_ahead(args)
    pm = plugin_manager(
        config_path,
        plugins_dir=plugins_dir,
        plugins=choice.objects,
        entry_points=choice.entry_points,
    )
    return collect_commands(pm, reserved)


def collect_commands(pm: pluggy.PluginManager, reserved: Iterable[str]) -> dict[str, click.Command]:
    """Ask each plugin for its commands; a name taken twice is a start-up error naming the plugins."""
    taken = set(reserved)
    commands: dict[str, click.Command] = {}
    owners: dict[str, str] = {}
    for impl in pm.hook.register_commands.get_hookimpls():
        plugin = impl.plugin_name
        group = click.Group("zaplite")
        try:
            impl.function(**({"cli": group} if "cli" in impl.argnames else {}))
        except Exception as error:
            raise StartupError(
                f"The plugin {plugin!r} failed in register_commands: {describe_error(error)}."
            ) from error
        for name, command in group.commands.items():
            if name in taken:
                raise StartupError(
                    f"The plugin {plugin!r} adds the command {name!r}, which zaplite already has."
                )
            if name in owners:
                raise StartupError(
                    f"The plugin {plugin!r} adds the command {name!r}, "
                    f"which the plugin {owners[name]!r} already added."
                )
            owners[name] = plugin
            commands[name] = _accepting_project_options(command)
    return commands


def _accepting_project_options(command: click.Command) -> click.Command:
    """Let the command take ``--config`` and ``--plugins-dir``, which chose the plugins that added it."""
    declared = {opt for param in command.params for opt in param.opts}
    for option, help_text in (
        (_CONFIG, "The config file (default: ./zaplite.toml)."),
        (_PLUGINS_DIR, "A folder of plugin modules (*.py) to load."),
    ):
        if option not in declared:
            command.params.append(
                click.Option(
                    [option],
                    type=click.Path(path_type=Path),
                    expose_value=False,
                    help=help_text,
                )
            )
    return command
