"""Bad input gets one clear error naming the file and exit code 2, never a traceback.

Hypothesis breaks one part of a valid project at a time (a zap file's JSON, a value
anywhere in a zap, a trigger's or action's params, a template, a value or table of
``zaplite.toml``) and runs ``zaplite validate`` (and ``test-step --dry-run``, which
renders templates into the params models) in-process. A few subprocess checks go
through the installed ``zaplite`` script, and a daemon started with one broken zap
runs the valid one and reports the broken one.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.inputs import CONFIG, ZAPS, assert_clean, json_values, write_project
from tests.support.cli import Cli, stop
from tests.support.emulators import Account, Org

SETTINGS = settings(
    max_examples=int(os.environ.get("ZAPLITE_FAULT_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ZAP_NAMES = ("contacts.json", "leads.json", "deals.json")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    value = copy.deepcopy(value)
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A valid project to break."""
    return write_project(tmp_path / "project")


def test_the_valid_project_is_valid(root: Path) -> None:
    result = Cli(root).invoke("validate")
    assert result.exit_code == 0, result.stderr
    for zap_id in ZAPS:
        assert Cli(root).invoke("test-step", zap_id, "--dry-run").exit_code == 0


@SETTINGS
@given(text=st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_any_zap_file_text(root: Path, text: str) -> None:
    write_project(root, zaps={**ZAPS, "leads": text})
    assert_clean(Cli(root).invoke("validate"), names=("leads.json",))


@SETTINGS
@given(data=st.data())
def test_any_value_anywhere_in_a_zap(root: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(ZAPS)))
    zap = ZAPS[name]
    path = data.draw(st.sampled_from(_paths(zap)))
    broken = _replace(zap, path, data.draw(json_values))
    write_project(root, zaps={**ZAPS, name: broken})
    assert_clean(Cli(root).invoke("validate"), names=(f"{name}.json",))
    if isinstance(broken.get("id"), str) and broken["id"] == name:
        assert_clean(
            Cli(root).invoke("test-step", name, "--dry-run"),
            names=(f"{name}.json",),
            allowed=(0, 1, 2),
        )


TRIGGER_PARAMS = ["object", "fields", "where", "watch_fields", "overlap_seconds", "unknown"]
ACTION_PARAMS = [
    "identity",
    "object_id",
    "ts",
    "profile",
    "event_name",
    "event_properties",
    "date_fields",
    "unknown",
]


@SETTINGS
@given(
    zap=st.sampled_from(sorted(ZAPS)),
    param=st.sampled_from(TRIGGER_PARAMS),
    value=json_values | st.lists(st.text(max_size=20), max_size=4),
)
def test_any_trigger_params(root: Path, zap: str, param: str, value: Any) -> None:
    broken = copy.deepcopy(ZAPS[zap])
    broken["trigger"]["params"][param] = value
    write_project(root, zaps={**ZAPS, zap: broken})
    assert_clean(Cli(root).invoke("validate"), names=(f"{zap}.json",))


@SETTINGS
@given(
    zap=st.sampled_from(sorted(ZAPS)),
    param=st.sampled_from(ACTION_PARAMS),
    value=json_values,
)
def test_any_action_params(root: Path, zap: str, param: str, value: Any) -> None:
    broken = copy.deepcopy(ZAPS[zap])
    broken["steps"][-1]["params"][param] = value
    write_project(root, zaps={**ZAPS, zap: broken})
    assert_clean(Cli(root).invoke("validate"), names=(f"{zap}.json",))
    assert_clean(
        Cli(root).invoke("test-step", zap, "--dry-run"), names=(f"{zap}.json",), allowed=(0, 1, 2)
    )


template_parts = st.sampled_from(
    [
        "{{",
        "}}",
        "{",
        "}",
        "trigger",
        "steps",
        ".",
        "Email",
        "won",
        "|",
        " ",
        "__class__",
        "0",
        "\\",
    ]
)
templates = st.lists(template_parts | st.text(max_size=5), max_size=12).map("".join)


@SETTINGS
@given(
    zap=st.sampled_from(sorted(ZAPS)),
    param=st.sampled_from(["identity", "ts", "profile", "event_name", "event_properties"]),
    template=templates,
    inside=st.booleans(),
)
def test_any_template(root: Path, zap: str, param: str, template: str, inside: bool) -> None:
    broken = copy.deepcopy(ZAPS[zap])
    value: Any = template
    if inside and param in ("profile", "event_properties"):
        value = {"Field": template}
    broken["steps"][-1]["params"][param] = value
    write_project(root, zaps={**ZAPS, zap: broken})
    assert_clean(Cli(root).invoke("validate"), names=(f"{zap}.json",))
    assert_clean(
        Cli(root).invoke("test-step", zap, "--dry-run"), names=(f"{zap}.json",), allowed=(0, 1, 2)
    )


@SETTINGS
@given(data=st.data())
def test_any_config_value(root: Path, data: st.DataObject) -> None:
    table = data.draw(st.sampled_from(sorted(CONFIG)))
    keys = [*CONFIG[table], "unknown_key"]
    key = data.draw(st.sampled_from(keys))
    value = data.draw(st.none() | json_values.filter(lambda v: v is not None and not _has_null(v)))
    config = copy.deepcopy(CONFIG)
    if value is None:
        config[table].pop(key, None)
    else:
        config[table][key] = value
    write_project(root, config=config)
    assert_clean(Cli(root).invoke("validate"), names=("zaplite.toml", ".json"), single=False)


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    return False


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_config_text(root: Path, text: str) -> None:
    (root / "zaplite.toml").write_text(text)
    assert_clean(Cli(root).invoke("validate"), names=("zaplite.toml", ".json"), single=False)


@SETTINGS
@given(name=st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True))
def test_an_unset_variable_is_named(root: Path, name: str) -> None:
    config = copy.deepcopy(CONFIG)
    config["connections.clevertap"]["passcode"] = "${ZAPLITE_UNSET_" + name + "}"
    write_project(root, config=config)
    result = Cli(root).invoke("validate")
    assert_clean(result, names=("zaplite.toml",))
    assert result.exit_code == 2
    assert "ZAPLITE_UNSET_" + name in result.stderr
    assert "clevertap" in result.stderr


# ---------------------------------------------------------------- through the installed script


def _one_clear_error(done: subprocess.CompletedProcess[str], name: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert name in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("kind", "name", "words"),
    [
        ("json", "leads.json", "invalid JSON"),
        ("unknown field", "leads.json", "colour"),
        ("wrong type", "contacts.json", "schedule"),
        ("template", "contacts.json", "profile"),
        ("trigger param", "deals.json", "watch_fields"),
        ("action param", "contacts.json", "identity"),
        ("toml", "zaplite.toml", "zaplite.toml"),
        ("connection", "zaplite.toml", "passcode"),
    ],
)
def test_the_installed_script_gives_one_clear_error(
    tmp_path: Path, kind: str, name: str, words: str
) -> None:
    zaps: dict[str, Any] = copy.deepcopy(ZAPS)
    config = copy.deepcopy(CONFIG)
    if kind == "json":
        zaps["leads"] = '{"id": "leads", "trigger": '
    elif kind == "unknown field":
        zaps["leads"]["colour"] = "blue"
    elif kind == "wrong type":
        zaps["contacts"]["schedule"] = "5m"
    elif kind == "template":
        zaps["contacts"]["steps"][0]["params"]["profile"] = {"Name": "{{trigger.Email"}
    elif kind == "trigger param":
        zaps["deals"]["trigger"]["params"]["watch_fields"] = "StageName; DROP"
    elif kind == "action param":
        zaps["contacts"]["steps"][0]["params"]["identity"] = {"nested": ["x"]}
    elif kind == "connection":
        del config["connections.clevertap"]["passcode"]
    root = write_project(tmp_path / "p", config=config, zaps=zaps)
    if kind == "toml":
        (root / "zaplite.toml").write_text('[store\nurl = "x"\n')
    line = _one_clear_error(Cli(root, timeout=60)("validate"), name)
    assert words in line, line


def test_a_daemon_runs_the_valid_zaps_and_reports_the_broken_one(
    tmp_path: Path, sf_org: Org, ct_account: Account
) -> None:
    sf, ct = sf_org.emu, ct_account.emu
    config = copy.deepcopy(CONFIG)
    config["connections.salesforce"].update(sf_org.connection())
    config["connections.clevertap"].update(ct_account.connection())
    good = copy.deepcopy(ZAPS["contacts"])
    good["schedule"] = {"every": "1s"}
    good["trigger"]["start"] = "all"
    root = write_project(
        tmp_path / "p", config=config, zaps={"contacts": good, "broken": '{"id": 3'}
    )
    sf.create("Contact", {"FirstName": "Ada", "LastName": "L", "Email": "ada@example.com"})
    process = Cli(root).start("run")
    try:
        deadline = time.monotonic() + 30
        while "ada@example.com" not in ct.profiles and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, "the daemon stopped"
    finally:
        out, err = stop(process, signal.SIGTERM)
    assert "ada@example.com" in ct.profiles, (out, err)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    broken = [line for line in err.splitlines() if "broken.json" in line]
    assert len(broken) == 1 and "invalid JSON" in broken[0], err
    assert "contacts: " in out and "1 delivered" in out, out
