"""A plugin's commands are found wherever its plugin is: --plugins-dir, [settings] plugins_dir, the env.

Most run in-process through ``ZapliteProject.cli``; one runs the installed ``zaplite``
script, since it parses the real command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli
from zaplite.testing import ZapliteProject

HELLO = '''
import click
from zaplite import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    @click.option("--name", default="world")
    def hello(name):
        """Say hello from the {folder} plugin."""
        click.echo("hello " + name + " from {folder}")
'''


def plugin_folder(root: Path, folder: str, source: str = HELLO, name: str = "greeter") -> Path:
    """A plugins folder holding one plugin module."""
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.py").write_text(source.replace("{folder}", folder))
    return path


@pytest.fixture
def project(zaplite_project: ZapliteProject) -> ZapliteProject:
    """A project without installed plugins, whose folder has two plugin folders."""
    plugin_folder(zaplite_project.root, "extra")
    plugin_folder(zaplite_project.root, "configured")
    return zaplite_project


@pytest.mark.parametrize(
    "args",
    [
        ["hello", "--plugins-dir", "extra"],
        ["hello", "--plugins-dir=extra"],
        ["hello", "--name", "ada", "--plugins-dir", "extra"],
    ],
    ids=["option", "option=value", "after the command's own option"],
)
def test_a_command_of_a_plugins_dir_plugin_runs(project: ZapliteProject, args: list[str]) -> None:
    result = project.cli(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("hello ") and result.stdout.endswith(" from extra\n")


def test_a_command_of_a_settings_plugins_dir_plugin_runs(project: ZapliteProject) -> None:
    project.set(plugins_dir="configured")
    result = project.cli("hello", "--name", "ada")
    assert (result.exit_code, result.stdout) == (0, "hello ada from configured\n")


def test_a_config_named_with_config_gives_its_plugins_dir(project: ZapliteProject) -> None:
    other = project.root / "other.toml"
    other.write_text('[settings]\nplugins_dir = "configured"\n')
    result = project.cli("hello", "--config", str(other), env={"ZAPLITE_CONFIG": ""})
    assert (result.exit_code, result.stdout) == (0, "hello world from configured\n")


def test_plugins_dir_option_then_env_then_settings(project: ZapliteProject) -> None:
    plugin_folder(project.root, "from-env")
    project.set(plugins_dir="configured")
    env = {"ZAPLITE_PLUGINS_DIR": str(project.root / "from-env")}
    assert project.cli("hello", "--plugins-dir", "extra", env=env).stdout.endswith("extra\n")
    assert project.cli("hello", env=env).stdout.endswith("from-env\n")
    assert project.cli("hello").stdout.endswith("configured\n")


def test_the_help_lists_the_plugin_commands(project: ZapliteProject) -> None:
    project.set(plugins_dir="configured")
    result = project.cli("--help")
    assert result.exit_code == 0
    assert "hello" in result.stdout and "Say hello from the configured plugin." in result.stdout
    own = project.cli("hello", "--help")
    assert own.exit_code == 0
    assert "--name" in own.stdout and "--plugins-dir" in own.stdout and "--config" in own.stdout


def test_one_run_s_plugin_commands_do_not_stay_for_the_next(project: ZapliteProject) -> None:
    assert project.cli("hello", "--plugins-dir", "extra").exit_code == 0
    missing = project.cli("hello")
    assert missing.exit_code == 2 and "No such command 'hello'" in missing.stderr


def test_a_bad_config_spoils_neither_help_nor_the_built_in_commands(
    project: ZapliteProject,
) -> None:
    project.config_path.write_text("[settings\n")
    helped = project.cli("--help")
    assert helped.exit_code == 0, helped.output
    shown = " ".join(helped.stdout.split())
    assert "history" in shown and "Plugin commands: Not listed:" in shown
    assert "zaplite.toml: invalid TOML at line 1, column 10" in shown
    assert project.cli("history", "--help").exit_code == 0
    plugin = project.cli("hello", "--plugins-dir", "extra")
    assert plugin.exit_code == 2
    [line] = plugin.stderr.splitlines()
    assert line.startswith("Error: ") and "zaplite.toml: invalid TOML at line 1" in line


def test_a_plugin_that_fails_to_import_is_one_sentence_naming_it(project: ZapliteProject) -> None:
    (project.root / "extra" / "broken.py").write_text("import no_such_module_here\n")
    result = project.cli("hello", "--plugins-dir", "extra")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: The plugin 'broken' could not be loaded from extra: "
        "ModuleNotFoundError: No module named 'no_such_module_here'.\n"
    )
    helped = project.cli("--help", env={"ZAPLITE_PLUGINS_DIR": "extra"})
    assert helped.exit_code == 0
    assert "The plugin 'broken' could not be loaded" in " ".join(helped.stdout.split())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "@hookimpl\ndef register_commands(cli):\n    raise ValueError('no commands today')\n",
            "The plugin 'clash' failed in register_commands: ValueError: no commands today.",
        ),
        (
            "@hookimpl\ndef register_commands(cli):\n"
            "    @cli.command('run')\n    def run():\n        pass\n",
            "The plugin 'clash' adds the command 'run', which zaplite already has.",
        ),
        (
            "@hookimpl\ndef register_commands(cli):\n"
            "    @cli.command('hello')\n    def hello():\n        pass\n",
            "The plugin 'greeter' adds the command 'hello', which the plugin 'clash' already added.",
        ),
    ],
    ids=["raises", "a built-in's name", "another plugin's command"],
)
def test_a_bad_register_commands_names_its_plugin_once(
    project: ZapliteProject, source: str, message: str
) -> None:
    plugin_folder(project.root, "extra", "from zaplite import hookimpl\n" + source, name="clash")
    result = project.cli("hello", "--plugins-dir", "extra")
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_the_installed_script_finds_a_settings_plugins_dir_command(tmp_path: Path) -> None:
    plugin_folder(tmp_path, "plugins")
    (tmp_path / "zaplite.toml").write_text('[settings]\nplugins_dir = "plugins"\n')
    done = Cli(tmp_path, env={"ZAPLITE_LOAD_PLUGINS": ""})("hello", "--name", "ada")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello ada from plugins\n", "")
