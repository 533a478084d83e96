"""The top-level ``zaplite`` group, error display and exit codes (0 ok, 1 failed work, 2 bad input)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from zaplite import __version__
from zaplite.cli.common import err_console
from zaplite.cli.plugins import plugin_choice, plugin_commands
from zaplite.errors import ZapliteError

__all__ = ["cli", "main"]


_ARGS = "zaplite.command_args"
"""Where a context keeps the arguments after the command's name, for reading ahead."""
_PLUGIN_COMMANDS = "zaplite.plugin_commands"
"""Where a context keeps the plugins' commands once loaded: (commands, the error if they failed)."""


class ZapliteGroup(click.Group):
    """The ``zaplite`` group: the built-in commands, then the plugins' (loaded when asked for).

    Errors become one sentence with the right exit code. The plugins' commands are
    never added to the group itself, so each command line (and each in-process run
    of the test kit) sees the plugins its own options and project choose.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The built-in commands and those of the plugins that load (for ``--help``)."""
        _add_commands()
        commands, _ = self._plugin_commands(ctx, [])
        return sorted({*self.commands, *commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in command, else a plugin's; a plugin that cannot load is a clear error."""
        _add_commands()
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        commands, error = self._plugin_commands(ctx, ctx.meta.get(_ARGS, []))
        if cmd_name in commands:
            return commands[cmd_name]
        if error is not None and not ctx.resilient_parsing:  # shell completion stays quiet
            raise error
        return None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Find the command, reading ahead in its arguments for the options that choose plugins."""
        ctx.meta[_ARGS] = list(args[1:])
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands; say why the plugins' are missing when they could not be loaded."""
        super().format_commands(ctx, formatter)
        _, error = self._plugin_commands(ctx, [])
        if error is not None:
            with formatter.section("Plugin commands"):
                formatter.write_text(f"Not listed: {error}")

    def _plugin_commands(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[dict[str, click.Command], ZapliteError | None]:
        if _PLUGIN_COMMANDS not in ctx.meta:
            try:
                found = plugin_commands(args, plugin_choice(ctx), reserved=self.commands)
                ctx.meta[_PLUGIN_COMMANDS] = (found, None)
            except ZapliteError as error:
                ctx.meta[_PLUGIN_COMMANDS] = ({}, error)
        return ctx.meta[_PLUGIN_COMMANDS]

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn errors into one clear message and an exit code."""
        try:
            return super().invoke(ctx)
        except ZapliteError as error:
            err_console.print(f"[red]Error:[/red] {error}", markup=True, highlight=False)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            err_console.print("Interrupted.")
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as error:
            if os.environ.get("ZAPLITE_DEBUG"):
                raise
            err_console.print(
                f"[red]Internal error:[/red] {type(error).__name__}: {error} "
                "(set ZAPLITE_DEBUG=1 to see the traceback, and please report it).",
                markup=True,
                highlight=False,
            )
            ctx.exit(1)


@click.group(cls=ZapliteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zaplite")
def cli() -> None:
    """zaplite: Salesforce → CleverTap (and any app a plugin adds), on your own machine."""


def _add_commands() -> None:
    """Add the built-in commands to the group (once; their modules load on first use)."""
    if cli.commands:
        return
    from zaplite.cli import connect, console, develop, inspect, replay, run, sandbox

    for module in (run, console, develop, inspect, replay, sandbox, connect):
        for command in module.COMMANDS:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """The ``zaplite`` console script."""
    try:
        cli.main(args=argv, prog_name="zaplite", standalone_mode=True)
    except ZapliteError as error:  # raised while parsing, before invoke
        err_console.print(f"Error: {error}")
        sys.exit(error.exit_code)
