"""Plugin discovery and registration: entry points, plugins dir, allowlist, clear start-up errors."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import memory_plugin
from zaplite import Action, App, Trigger, hookimpl
from zaplite.errors import StartupError, UsageError
from zaplite.plugin import hookspecs
from zaplite.plugin.manager import build_registry, get_plugin_manager


def test_installed_plugins_register_salesforce_and_clevertap():
    registry = build_registry(get_plugin_manager(env={}))
    assert {"salesforce", "clevertap"} <= set(registry.apps)
    assert registry.owners["salesforce"] == "salesforce"


def test_an_unknown_app_trigger_or_action_is_a_key_error_naming_what_there_is():
    registry = build_registry(get_plugin_manager(env={"ZAPLITE_LOAD_PLUGINS": "clevertap"}))
    with pytest.raises(KeyError) as unknown_app:
        registry.app("hubspot")
    assert unknown_app.value.args[0] == "unknown app 'hubspot' (installed: clevertap)"
    with pytest.raises(KeyError) as unknown_trigger:
        registry.trigger("clevertap", "new_profile")
    assert unknown_trigger.value.args[0] == (
        "app 'clevertap' has no trigger 'new_profile' (it has: none)"
    )
    with pytest.raises(KeyError) as unknown_action:
        registry.action("clevertap", "send_sms")
    known = ", ".join(sorted(registry.app("clevertap").actions))
    assert unknown_action.value.args[0] == (
        f"app 'clevertap' has no action 'send_sms' (it has: {known})"
    )
    assert (
        registry.action("clevertap", "upload_profile")
        is (registry.app("clevertap").actions["upload_profile"])
    )


def test_allowlist_limits_installed_plugins():
    registry = build_registry(get_plugin_manager(env={"ZAPLITE_LOAD_PLUGINS": "clevertap"}))
    assert set(registry.apps) == {"clevertap"}
    assert build_registry(get_plugin_manager(env={"ZAPLITE_LOAD_PLUGINS": ""})).apps == {}


def test_plugins_dir_is_loaded(tmp_path):
    (tmp_path / "extra.py").write_text(
        "from zaplite import App, hookimpl\n"
        "app = App('extra')\n"
        "@hookimpl\n"
        "def register_apps(register):\n"
        "    register(app)\n"
    )
    registry = build_registry(get_plugin_manager(tmp_path, entry_points=False))
    assert registry.owners["extra"] == "extra"


def test_duplicate_app_names_the_two_plugins():
    class Other:
        @hookimpl
        def register_apps(self, register):
            register(App("memory"))

    pm = get_plugin_manager(plugins=[memory_plugin, Other()], entry_points=False)
    with pytest.raises(StartupError, match="registers the app 'memory', which the plugin"):
        build_registry(pm)


@pytest.mark.parametrize(
    ("registered", "message"),
    [
        ("not an app", "takes a zaplite.App, not str"),
        (App("Bad Name"), "must be lower-case"),
    ],
)
def test_malformed_registration_is_a_startup_error_naming_the_plugin(registered, message):
    class Broken:
        @hookimpl
        def register_apps(self, register):
            register(registered)

    pm = get_plugin_manager(plugins=[Broken()], entry_points=False)
    with pytest.raises(StartupError, match=message) as error:
        build_registry(pm)
    assert "Broken" in str(error.value)


def _app_where(change: Callable[[App], object]) -> App:
    """An app with one trigger ``t`` and one action ``a``, then ``change`` made to it."""
    app = App("broken")
    app.add_trigger(Trigger(app="broken", name="t", poll=lambda ctx: iter(())))
    app.add_action(Action(app="broken", name="a", perform=lambda ctx, params: {}))
    change(app)
    return app


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda app: app.triggers.update(t="not a trigger"),
            "trigger broken.t is not a zaplite.Trigger registered under its own name",
        ),
        (
            lambda app: app.triggers.update(u=app.triggers.pop("t")),
            "trigger broken.u is not a zaplite.Trigger registered under its own name",
        ),
        (lambda app: setattr(app.triggers["t"], "poll", None), "trigger broken.t has no poll"),
        (
            lambda app: setattr(app.triggers["t"], "params", dict),
            "the params of trigger broken.t are not a pydantic model",
        ),
        (
            lambda app: setattr(app.triggers["t"], "dedup_key", 5),
            "the dedup_key of trigger broken.t must be a field name",
        ),
        (
            lambda app: app.actions.update(a=app.triggers["t"]),
            "action broken.a is not a zaplite.Action registered under its own name",
        ),
        (
            lambda app: setattr(app.actions["a"], "perform", "x"),
            "action broken.a has no perform function",
        ),
        (
            lambda app: setattr(app.actions["a"], "params", None),
            "the params of action broken.a are not a pydantic model",
        ),
        (
            lambda app: setattr(app.actions["a"], "batch_size", 0),
            "the batch size of action broken.a must be at least 1",
        ),
    ],
    ids=[
        "trigger not a Trigger",
        "trigger under another name",
        "no poll",
        "trigger params",
        "dedup_key",
        "action not an Action",
        "no perform",
        "action params",
        "batch size",
    ],
)
def test_a_malformed_trigger_or_action_is_a_startup_error_naming_it(change, message):
    class Broken:
        @hookimpl
        def register_apps(self, register):
            register(_app_where(change))

    pm = get_plugin_manager(plugins=[Broken()], entry_points=False)
    with pytest.raises(StartupError) as error:
        build_registry(pm)
    assert "Broken" in str(error.value)
    assert f"registered an invalid app: {message}" in str(error.value)


def test_a_misspelt_hook_is_a_startup_error():
    class Misspelt:
        @hookimpl
        def register_app(self, register):  # missing "s"
            pass

    with pytest.raises(StartupError, match="register_app"):
        get_plugin_manager(plugins=[Misspelt()], entry_points=False)


def test_plugin_that_fails_to_import_is_named(tmp_path):
    (tmp_path / "boom.py").write_text("raise ImportError('no such thing')\n")
    with pytest.raises(StartupError) as error:
        get_plugin_manager(tmp_path, entry_points=False)
    assert str(error.value) == (
        f"The plugin 'boom' could not be loaded from {tmp_path}: ImportError: no such thing."
    )


def test_a_plugins_folder_that_is_a_file_is_said_to_be_no_folder(tmp_path):
    (tmp_path / "plugins").write_text("")
    with pytest.raises(UsageError, match="the plugins folder is not a folder"):
        get_plugin_manager(tmp_path / "plugins", entry_points=False)


def test_every_hook_is_documented_and_exercised():
    """Meta-test (as datasette does): each hookspec has a docstring and a test that calls it."""
    hooks = [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "zaplite_spec")
    ]
    assert set(hooks) == {"register_apps", "register_commands", "register_routes"}
    here = Path(__file__).parents[1]  # every test folder, tests/support's plugins too
    tests = "".join(path.read_text() for path in here.rglob("*.py"))
    for name in hooks:
        assert inspect.getdoc(getattr(hookspecs, name)), f"{name} has no docstring"
        assert f"def {name}" in tests, f"no test implements the hook {name}"
