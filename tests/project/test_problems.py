"""One sentence for every validation error: the file, the field and the reason, typos named."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from zaplite import App, hookimpl
from zaplite.errors import FileError
from zaplite.project.problems import explain
from zaplite.testing import ZapliteProject


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    passcode: SecretStr


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: str
    limit: int = 10


app = App("demo", connection=Settings)


@app.trigger("items", params=Params, dedup_key="id")
async def items(ctx):  # pragma: no cover - never polled here
    yield


@hookimpl
def register_apps(register):
    register(app)


def test_a_misspelt_key_is_named_with_the_key_it_was_meant_to_be() -> None:
    with pytest.raises(Exception) as caught:
        Settings.model_validate({"url": "x", "passcod": "y"})
    error = explain(
        caught.value,  # type: ignore[arg-type]
        file="zaplite.toml",
        prefix="connections.demo",
        noun="setting",
        known_fields=lambda loc: None if loc else ["url", "passcode"],
    )
    assert str(error) == (
        'zaplite.toml: connections.demo.passcod: unknown setting (did you mean "passcode"? '
        "expected one of: url, passcode)."
    )


def test_a_trigger_param_typo_says_param_of_the_trigger(
    zaplite_project: ZapliteProject, tmp_path: Path
) -> None:
    import sys

    zaplite_project.use_plugins(sys.modules[__name__])
    zaplite_project.add_connection("demo", "demo", url="http://x", passcode="p")
    zaplite_project.add_zap(
        {
            "id": "typo",
            "trigger": {"app": "demo", "event": "items", "params": {"objet": "Contact"}},
            "steps": [{"id": "stop", "filter": [{"field": "{{trigger.id}}", "op": "exists"}]}],
        }
    )
    [problem] = zaplite_project.workspace.problems
    assert isinstance(problem, FileError)
    assert problem.field == "trigger.params.objet"
    assert problem.reason == 'unknown param (did you mean "object"? expected one of: object, limit)'


def test_a_connection_setting_typo_is_reported_before_the_missing_setting(
    zaplite_project: ZapliteProject,
) -> None:
    import asyncio
    import sys

    from zaplite.project.connections import Connections

    zaplite_project.use_plugins(sys.modules[__name__])
    zaplite_project.add_connection("demo", "demo", url="http://x", passcod="p")
    workspace = zaplite_project.workspace
    connections = Connections(workspace.config, workspace.registry)
    with pytest.raises(FileError) as caught:
        asyncio.run(connections.get("demo"))
    assert caught.value.field == "connections.demo.passcod"
    assert caught.value.reason.startswith('unknown setting (did you mean "passcode"?')


def test_a_connect_function_that_raises_is_blamed_on_its_own_plugin(
    zaplite_project: ZapliteProject,
) -> None:
    """Not on the zap's trigger: the step's app opened the connection."""
    import asyncio
    import sys

    from zaplite.errors import PluginError
    from zaplite.project.connections import Connections

    broken = App("broken", connection=Settings, connect=lambda settings: 1 / 0)

    class BrokenPlugin:
        __name__ = "broken_plugin"

        @hookimpl
        def register_apps(self, register):  # type: ignore[no-untyped-def]
            register(broken)

    zaplite_project.use_plugins(sys.modules[__name__], BrokenPlugin())
    zaplite_project.add_connection("b", "broken", url="http://x", passcode="p")
    workspace = zaplite_project.workspace
    connections = Connections(workspace.config, workspace.registry)
    with pytest.raises(PluginError) as caught:
        asyncio.run(connections.get("b"))
    assert str(caught.value) == (
        "the plugin 'broken_plugin' failed to open the connection 'b': "
        "ZeroDivisionError: division by zero"
    )
