"""``--help``: the same options mean the same everywhere, and every option says what it does."""

from __future__ import annotations

from collections.abc import Iterator

import click

from zaplite.cli.main import _add_commands, cli

PROJECT_COMMANDS = {
    "run", "console", "validate", "test-trigger", "test-step", "apps", "connections",
    "history", "replay", "pause", "resume",
}  # fmt: skip


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_option_has_help_text() -> None:
    _add_commands()
    missing = [
        (name, option.opts)
        for name, command in _commands(cli)
        for option in command.params
        if isinstance(option, click.Option) and not option.help
    ]
    assert missing == []


def test_v_is_on_every_command_that_works_on_a_project_and_says_the_same() -> None:
    _add_commands()
    found = {}
    for name, command in _commands(cli):
        for option in command.params:
            if isinstance(option, click.Option) and "-v" in option.opts:
                found[name] = (tuple(option.opts), option.count, option.help)
    assert PROJECT_COMMANDS | {"demo", "sandbox"} <= set(found)
    assert len(set(found.values())) == 1, found
