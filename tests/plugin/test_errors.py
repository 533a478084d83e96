"""Every error about a plugin names it once, by the name it is registered under.

Start-up errors (loading, registering, hooks) and the errors of plugin code at run
time (a trigger, an action, a batch perform, a sign-in test) alike.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
import zaplite_salesforce

from zaplite import App, Page, hookimpl
from zaplite.errors import StartupError
from zaplite.plugin.manager import build_registry, get_plugin_manager
from zaplite.testing import ZapliteProject

NO_PLUGINS = {"ZAPLITE_LOAD_PLUGINS": ""}


def startup_error(**options: Any) -> str:
    """The message of the start-up error building a plugin manager with ``options`` raises."""
    options.setdefault("env", NO_PLUGINS)
    with pytest.raises(StartupError) as raised:
        build_registry(get_plugin_manager(**options))
    return str(raised.value)


def assert_named_once(message: str, name: str) -> None:
    assert message.count(repr(name)) == 1, message
    assert "<" not in message and " at 0x" not in message, message


class Misspelt:
    @hookimpl
    def register_app(self, register: Any) -> None:  # missing "s"
        pass


class ExtraArgument:
    @hookimpl
    def register_apps(self, register: Any, registry: Any) -> None:
        pass


class NotAGenerator:
    @hookimpl(wrapper=True)
    def register_apps(self, register: Any) -> None:
        pass


class Raises:
    @hookimpl
    def register_apps(self, register: Any) -> None:
        raise LookupError("no apps here.")


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (
            Misspelt(),
            "The plugin 'Misspelt' implements the hook 'register_app', which zaplite does not "
            "have (did you mean 'register_apps'?).",
        ),
        (
            ExtraArgument(),
            "The plugin 'ExtraArgument' implements register_apps with the argument(s) registry, "
            "which zaplite does not pass (it passes register).",
        ),
        (
            NotAGenerator(),
            "The plugin 'NotAGenerator' implements register_apps wrongly: declared as "
            "wrapper=True or hookwrapper=True but function is not a generator function.",
        ),
        (
            Raises(),
            "The plugin 'Raises' failed in register_apps: LookupError: no apps here.",
        ),
    ],
    ids=["misspelt hook", "extra argument", "wrapper", "register_apps raises"],
)
def test_a_bad_plugin_object_is_named_once(plugin: Any, message: str) -> None:
    got = startup_error(plugins=[plugin])
    assert got == message
    assert_named_once(got, type(plugin).__name__)


def test_a_plugins_dir_plugin_with_a_misspelt_hook_is_named_by_its_file(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "from zaplite import hookimpl\n\n@hookimpl\ndef register_comands(cli):\n    pass\n"
    )
    assert startup_error(plugins_dir=tmp_path) == (
        "The plugin 'shop' implements the hook 'register_comands', which zaplite does not "
        "have (did you mean 'register_commands'?)."
    )


def test_an_installed_plugin_that_fails_to_import_is_named_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "site" / "broken_zaplite_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-zaplite-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text("[zaplite]\nbroken = no_such_module_for_zaplite\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    message = startup_error(env={"ZAPLITE_LOAD_PLUGINS": "broken"})
    assert message == (
        "The plugin 'broken' could not be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module_for_zaplite'."
    )


def test_two_plugins_with_one_name(tmp_path: Path) -> None:
    (tmp_path / "salesforce.py").write_text("")
    message = startup_error(plugins_dir=tmp_path, env={"ZAPLITE_LOAD_PLUGINS": "salesforce"})
    assert message == "Two plugins are named 'salesforce'; each plugin needs a name of its own."


def test_a_plugin_given_twice() -> None:
    twice = types.ModuleType("twice")
    assert startup_error(plugins=[twice, twice]) == "The plugin 'twice' is given twice."


def test_an_installed_plugin_given_again_as_an_object() -> None:
    message = startup_error(
        plugins=[zaplite_salesforce], env={"ZAPLITE_LOAD_PLUGINS": "salesforce"}
    )
    assert message == (
        "The plugin 'zaplite_salesforce' is already loaded under the name 'salesforce'."
    )


def test_the_cli_shows_a_start_up_error_as_one_line(zaplite_project: ZapliteProject) -> None:
    zaplite_project.use_plugins(Misspelt())
    result = zaplite_project.cli("validate")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: The plugin 'Misspelt' implements the hook 'register_app', which zaplite does "
        "not have (did you mean 'register_apps'?).\n"
    )


# ---------------------------------------------------------------- plugin code at run time


class Buggy:
    """A plugin whose code fails in the way ``fail`` names."""

    def __init__(self, fail: str) -> None:
        self.app = App("bugs", test=self.sign_in)

        @self.app.trigger("new_bug", dedup_key="id", sample={"id": 1})
        async def new_bug(ctx: Any) -> Any:
            if fail == "poll":
                raise RuntimeError("the poll broke")
            yield {"id": 1} if fail == "page" else Page(records=[{"id": 1}, {"id": 2}], cursor=2)

        @self.app.action("fix")
        async def fix(ctx: Any, params: Any) -> dict[str, Any]:
            if fail == "perform":
                raise KeyError("missing")
            return {}

        if fail.startswith("batch"):

            @fix.batch(size=10)
            async def fix_many(ctx: Any, many: list[Any]) -> list[Any]:
                return [] if fail == "batch count" else ["fixed"] * len(many)

    @staticmethod
    def sign_in(client: Any) -> str:
        raise ValueError("no such account")

    @hookimpl
    def register_apps(self, register: Any) -> None:
        register(self.app)


ZAP = {
    "id": "bugs",
    "trigger": {"app": "bugs", "event": "new_bug", "start": "all"},
    "steps": [{"id": "fix", "app": "bugs", "action": "fix"}],
}


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (
            "poll",
            "the plugin 'Buggy' failed in the trigger bugs.new_bug: RuntimeError: the poll broke",
        ),
        (
            "page",
            "the plugin 'Buggy' yielded dict, not a zaplite.Page, from the trigger bugs.new_bug",
        ),
    ],
)
def test_a_failing_trigger_names_its_plugin_once(
    zaplite_project: ZapliteProject, fail: str, message: str
) -> None:
    zaplite_project.use_plugins(Buggy(fail)).add_zap(ZAP)
    [result] = zaplite_project.run_once("bugs")
    assert (result.status, result.message) == ("failed", message)


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ("perform", "the plugin 'Buggy' failed in the action bugs.fix: KeyError: 'missing'"),
        (
            "batch count",
            "the plugin 'Buggy' returned 0 outcomes for 2 records from the batch perform of bugs.fix",
        ),
        (
            "batch type",
            "the plugin 'Buggy' returned str, not Success or Failure, "
            "from the batch perform of bugs.fix",
        ),
    ],
)
def test_a_failing_action_names_its_plugin_once(
    zaplite_project: ZapliteProject, fail: str, message: str
) -> None:
    zaplite_project.use_plugins(Buggy(fail)).add_zap(ZAP)
    [result] = zaplite_project.run_once("bugs")
    assert (result.delivered, result.failed) == (0, 2)
    assert [task.error for task in zaplite_project.tasks()] == [f"step 'fix': {message}"] * 2


def test_a_failing_sign_in_test_names_its_plugin_once(zaplite_project: ZapliteProject) -> None:
    zaplite_project.use_plugins(Buggy("nothing")).add_connection("bugs", "bugs")
    result = zaplite_project.cli("connections", "--test", "--json")
    assert result.exit_code == 1, result.output
    [row] = json.loads(result.stdout)
    assert row["test"] == {
        "ok": False,
        "message": "the plugin 'Buggy' failed in the sign-in test: ValueError: no such account",
    }
