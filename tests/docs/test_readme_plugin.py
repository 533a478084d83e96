"""The README's plugin example is run: its module against a shop on loopback, and its tests.

Every ``python`` block under "Writing a plugin" is written out as one module, and
every ``test_*`` function under "Testing a plugin" runs as a test of its own, with
the fixtures it names (as datasette tests the snippets of its documentation).
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.paths import REPO
from zaplite.testing import ZapliteProject

README = REPO / "README.md"


def python_blocks(heading: str, next_heading: str) -> list[str]:
    """The ``python`` code blocks of the README between two headings."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n") : text.index(f"\n{next_heading}\n")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


PLUGIN_SOURCE = "\n\n".join(python_blocks("## Writing a plugin", "### Testing a plugin"))
TESTS_SOURCE = "\n\n".join(python_blocks("### Testing a plugin", "## Running as a service"))


def readme_tests() -> dict[str, Callable[..., Any]]:
    """The README's test functions, by name (``my_plugin`` must be importable)."""
    namespace: dict[str, Any] = {}
    exec(compile(TESTS_SOURCE, f"{README} (Testing a plugin)", "exec"), namespace)
    return {name: fn for name, fn in namespace.items() if name.startswith("test_")}


@pytest.fixture
def my_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The README's plugin, importable as ``my_plugin`` as its tests import it."""
    folder = tmp_path / "readme"
    folder.mkdir()
    (folder / "my_plugin.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    import my_plugin

    try:
        yield my_plugin
    finally:
        sys.modules.pop("my_plugin", None)


def test_the_readme_has_a_plugin_and_its_tests() -> None:
    assert "def register_apps(register)" in PLUGIN_SOURCE
    assert re.findall(r"^def (test_\w+)", TESTS_SOURCE, flags=re.MULTILINE) == [
        "test_new_orders_are_tagged",
        "test_the_connection_signs_in",
    ]


@pytest.mark.parametrize("name", re.findall(r"^def (test_\w+)", TESTS_SOURCE, flags=re.MULTILINE))
def test_a_readme_test_passes(
    name: str, my_plugin: ModuleType, shop_server: Any, request: pytest.FixtureRequest
) -> None:
    test = readme_tests()[name]
    test(**{arg: request.getfixturevalue(arg) for arg in inspect.signature(test).parameters})
    assert shop_server.shop.requests, "the README's test never reached the shop"


def test_the_readme_plugin_runs_from_a_plugins_folder(
    zaplite_project: ZapliteProject, shop_server: Any
) -> None:
    """Dropped in ``[settings] plugins_dir``, the plugin serves every command of the CLI."""
    plugins = zaplite_project.root / "plugins"
    plugins.mkdir()
    (plugins / "shop_plugin.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    zaplite_project.set(plugins_dir="plugins")
    zaplite_project.add_connection("shop", "shop", url=shop_server.url, api_key="${SHOP_KEY}")
    zaplite_project.add_zap(
        {
            "id": "tag",
            "trigger": {"app": "shop", "event": "new_order"},
            "steps": [
                {
                    "id": "t",
                    "app": "shop",
                    "action": "tag_customer",
                    "params": {"email": "{{trigger.email}}", "tag": "buyer"},
                }
            ],
        }
    )
    env = {"SHOP_KEY": "test"}
    shop = shop_server.shop

    apps = zaplite_project.cli("apps", "--json", env=env)
    assert apps.exit_code == 0, apps.stderr
    assert [(a["name"], a["plugin"]) for a in json.loads(apps.stdout)] == [("shop", "shop_plugin")]

    first = zaplite_project.cli("run", "--once", env=env)
    assert first.exit_code == 0, first.stderr
    assert "0 new, 0 delivered" in first.stdout  # the zap starts "now"

    shop.add_order("eve@example.com", 5.0)
    shop.add_order("not-an-email", 1.0)
    second = zaplite_project.cli("run", "--once", env=env)
    assert second.exit_code == 1  # one task failed
    assert "2 new, 1 delivered, 1 failed" in second.stdout
    assert shop.tags == [("eve@example.com", "buyer")]
    [failed] = zaplite_project.tasks(status="failed")
    assert failed.record["email"] == "not-an-email" and "not an email address" in failed.error

    trigger = zaplite_project.cli("test-trigger", "tag", "--json", env=env)
    assert json.loads(trigger.stdout)["built_in_sample"] is True

    tags = list(shop.tags)
    step = zaplite_project.cli("test-step", "tag", "--json", env=env)
    assert step.exit_code == 2  # a built-in sample is never sent for real
    assert "shop.new_order cannot fetch real records" in step.stderr
    assert shop.tags == tags
    dry = zaplite_project.cli("test-step", "tag", "--dry-run", "--json", env=env)
    assert json.loads(dry.stdout)["params"] == {"email": "a@example.com", "tag": "buyer"}

    refused = zaplite_project.cli("connections", "--test", "--json", env={"SHOP_KEY": "wrong"})
    assert refused.exit_code == 1
    [row] = json.loads(refused.stdout)
    assert row["test"] == {"ok": False, "message": "the shop refused the API key"}
