"""The top-level ``zaplite`` group, error display and exit codes (0 ok, 1 failed work, 2 bad input)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from zaplite import __version__
from zaplite.cli.common import err_console
from zaplite.errors import ZapliteError

__all__ = ["cli", "main"]


class ZapliteGroup(click.Group):
    """A click group that shows zaplite's errors as one sentence with the right exit code."""

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
    from zaplite.cli import develop, inspect, replay, run, sandbox

    for module in (run, develop, inspect, replay, sandbox):
        for command in module.COMMANDS:
            cli.add_command(command)


def _add_plugin_commands() -> None:
    from zaplite.plugin.manager import get_plugin_manager

    try:
        pm = get_plugin_manager()
    except ZapliteError:
        return  # the commands that load plugins report the problem themselves
    pm.hook.register_commands(cli=cli)


def main(argv: list[str] | None = None) -> None:
    """The ``zaplite`` console script."""
    if not cli.commands:
        _add_commands()
        _add_plugin_commands()
    try:
        cli.main(args=argv, prog_name="zaplite", standalone_mode=True)
    except ZapliteError as error:  # raised while parsing, before invoke
        err_console.print(f"Error: {error}")
        sys.exit(error.exit_code)
