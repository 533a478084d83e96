"""``ZapliteProject.cli`` runs ``zaplite`` in the test's process, with the plugins the test registered."""

from __future__ import annotations

import json
import logging
from typing import Any

import click
import pytest

from zaplite import App, Page, hookimpl
from zaplite.testing import ZapliteProject


class Notes:
    """A plugin object: an app that delivers a list of notes into ``kept``, and a command."""

    def __init__(self, *notes: str) -> None:
        self.notes = [{"id": index, "text": text} for index, text in enumerate(notes)]
        self.kept: list[str] = []
        self.app = App("notes")

        @self.app.trigger("new_note", dedup_key="id", sample={"id": 0, "text": "hi"})
        def new_note(ctx: Any) -> Any:
            yield Page(records=self.notes[ctx.cursor or 0 :], cursor=len(self.notes))

        @self.app.action("keep")
        def keep(ctx: Any, params: Any) -> dict[str, Any]:
            self.kept.append(ctx.zap_id)
            return {"kept": len(self.kept)}

    @hookimpl
    def register_apps(self, register: Any) -> None:
        register(self.app)

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("notes-kept")
        def notes_kept() -> None:
            """How many notes were kept."""
            click.echo(f"{len(self.kept)} kept")


ZAP = {
    "id": "keep",
    "trigger": {"app": "notes", "event": "new_note", "start": "all"},
    "steps": [{"id": "k", "app": "notes", "action": "keep"}],
}


def test_a_command_sees_the_plugin_objects_the_test_registered(
    zaplite_project: ZapliteProject,
) -> None:
    notes = Notes("a", "b", "c")
    zaplite_project.use_plugins(notes).add_zap(ZAP)
    apps = zaplite_project.cli("apps", "--json")
    assert apps.exit_code == 0, apps.output
    assert [(app["name"], app["plugin"]) for app in json.loads(apps.stdout)] == [("notes", "Notes")]
    run = zaplite_project.cli("run", "--once")
    assert run.exit_code == 0, run.output
    assert "keep: ok: 3 new, 3 delivered" in run.stdout
    assert notes.kept == ["keep"] * 3  # the very objects the test holds
    kept = zaplite_project.cli("notes-kept")
    assert (kept.exit_code, kept.stdout) == (0, "3 kept\n")


def test_the_result_keeps_exit_code_stdout_and_stderr_apart(
    zaplite_project: ZapliteProject,
) -> None:
    zaplite_project.use_plugins(Notes()).add_zap(ZAP)
    result = zaplite_project.cli("test-trigger", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: There is no zap 'nope'")


def test_the_cli_and_the_project_share_the_store(zaplite_project: ZapliteProject) -> None:
    zaplite_project.use_plugins(Notes("a")).add_zap(ZAP)
    [result] = zaplite_project.run_once("keep")
    assert result.delivered == 1
    history = zaplite_project.cli("history", "--json")
    assert [task["status"] for task in json.loads(history.stdout)] == ["success"]


def test_the_project_loads_its_settings_plugins_dir(zaplite_project: ZapliteProject) -> None:
    folder = zaplite_project.root / "plugins"
    folder.mkdir()
    (folder / "extra.py").write_text(
        "from zaplite import App, hookimpl\n\n"
        "@hookimpl\n"
        "def register_apps(register):\n"
        "    register(App('extra'))\n"
    )
    zaplite_project.set(plugins_dir="plugins")
    assert zaplite_project.workspace.registry.owners == {"extra": "extra"}
    assert json.loads(zaplite_project.cli("apps", "--json").stdout)[0]["plugin"] == "extra"


@pytest.fixture
def pristine_logger(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """The ``zaplite`` logger as a program that never set up logging has it."""
    own = logging.getLogger("zaplite")
    monkeypatch.setattr(own, "handlers", [])
    monkeypatch.setattr(own, "propagate", True)
    return own


def _still_captured(own: logging.Logger, caplog: pytest.LogCaptureFixture) -> None:
    assert own.propagate and own.handlers == []
    with caplog.at_level(logging.INFO, logger="zaplite"):
        logging.getLogger("zaplite.test").info("still captured")
    assert "still captured" in caplog.text


def test_a_command_leaves_logging_as_it_found_it(
    zaplite_project: ZapliteProject,
    caplog: pytest.LogCaptureFixture,
    pristine_logger: logging.Logger,
) -> None:
    zaplite_project.use_plugins(Notes("a")).add_zap(ZAP)
    zaplite_project.set(log_file="zaplite.log")
    assert zaplite_project.cli("run", "--once", "-v").exit_code == 0
    assert "keep: ok: 1 new, 1 delivered" in (zaplite_project.root / "zaplite.log").read_text()
    _still_captured(pristine_logger, caplog)


def test_a_command_run_in_process_leaves_logging_as_it_found_it(
    zaplite_project: ZapliteProject,
    caplog: pytest.LogCaptureFixture,
    pristine_logger: logging.Logger,
) -> None:
    from tests.support.cli import Cli

    result = Cli(zaplite_project.root).invoke("apps", "-v")
    assert result.exit_code == 0, result.output
    _still_captured(pristine_logger, caplog)
