"""The installed ``zaplite`` command, in subprocesses, with a plugins-dir plugin."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.files_project import files_project
from tests.support.paths import PLUGINS_DIR

SECRET = "sk-cli-secret-123"


@pytest.fixture
def cli_project(tmp_path):
    return files_project(
        tmp_path / "proj",
        [{"id": i, "email": f"user{i}@example.com", "score": i} for i in range(1, 4)],
        api_key="${FILES_API_KEY}",
        params={"email": "{{trigger.email}}", "score": "{{trigger.score}}"},
        settings={"retry_attempts": 2, "retry_initial_wait": 0.01},
    )


def zaplite(root: Path, *args: str, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``zaplite ARGS`` in ``root`` with the files plugin and its API key."""
    env = {
        "ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR),
        "FILES_API_KEY": SECRET,
        "ZAPLITE_LOAD_PLUGINS": "",
    }
    return Cli(root, env=env)(*args, unset=unset)


def test_help_lists_every_command(cli_project):
    out = zaplite(cli_project, "--help")
    assert out.returncode == 0
    for command in (
        "run",
        "validate",
        "apps",
        "connections",
        "test-trigger",
        "test-step",
        "history",
        "replay",
        "resume",
        "files-info",
    ):
        assert command in out.stdout


def test_register_commands_hook_adds_a_command(cli_project):
    out = zaplite(cli_project, "files-info")
    assert out.returncode == 0 and "files plugin command works" in out.stdout


def test_validate_ok_and_bad_field(cli_project):
    ok = zaplite(cli_project, "validate")
    assert ok.returncode == 0, ok.stderr
    bad = json.loads((cli_project / "zaps" / "copy.json").read_text())
    bad["steps"][0]["params"]["colour"] = "red"
    (cli_project / "zaps" / "copy.json").write_text(json.dumps(bad))
    out = zaplite(cli_project, "validate")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "copy.json" in lines[0] and "steps[0].params.colour" in lines[0]
    assert "Traceback" not in out.stderr


def test_malformed_zap_json_is_one_line_exit_2(cli_project):
    (cli_project / "zaps" / "copy.json").write_text('{"id": "copy", ')
    out = zaplite(cli_project, "validate")
    assert out.returncode == 2
    assert "copy.json" in out.stderr and "Traceback" not in out.stderr


def test_unset_variable_names_variable_and_connection(cli_project):
    out = zaplite(cli_project, "validate", unset=("FILES_API_KEY",))
    assert out.returncode == 2
    assert "FILES_API_KEY" in out.stderr and "connections.files" in out.stderr
    assert "Traceback" not in out.stderr


def test_run_once_history_and_second_run(cli_project):
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 0, out.stderr
    assert "3 delivered" in out.stdout
    assert len(json.loads((cli_project / "sink.json").read_text())) == 3
    again = zaplite(cli_project, "run", "--once", "copy")
    assert again.returncode == 0 and "0 new" in again.stdout
    history = zaplite(cli_project, "history", "--json")
    tasks = json.loads(history.stdout)
    assert [t["status"] for t in tasks] == ["success"] * 3
    assert tasks[0]["record"]["id"] == 3  # newest first


def test_failed_task_exit_1_then_replay(cli_project):
    records = json.loads((cli_project / "source.json").read_text())
    records[1]["email"] = "not-an-email"
    (cli_project / "source.json").write_text(json.dumps(records))
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 1
    failed = json.loads(zaplite(cli_project, "history", "--status", "failed", "--json").stdout)
    assert len(failed) == 1 and "not an email address" in failed[0]["error"]
    # Fix the mapping, then replay the failed task from its stored record.
    zap = json.loads((cli_project / "zaps" / "copy.json").read_text())
    zap["steps"][0]["params"]["email"] = "fixed@example.com"
    (cli_project / "zaps" / "copy.json").write_text(json.dumps(zap))
    replay = zaplite(cli_project, "replay", "--zap", "copy", "--failed")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"task {failed[0]['id']}: success" in replay.stdout


def test_apps_connections_masked_and_test(cli_project):
    apps = json.loads(zaplite(cli_project, "apps", "--json").stdout)
    assert [a["name"] for a in apps] == ["files"]
    conns = zaplite(cli_project, "connections", "--test", "--json")
    assert conns.returncode == 0, conns.stderr
    [row] = json.loads(conns.stdout)
    assert row["settings"]["api_key"] == "${FILES_API_KEY}"
    assert row["test"] == {"ok": True, "message": "can read source.json"}
    assert SECRET not in conns.stdout + conns.stderr
    plain = zaplite(cli_project, "connections", "--test").stdout.splitlines()
    # Piped: a connection is a heading and indented lines, no table to break at 80 columns.
    assert plain[0].startswith("files (app files)")
    assert plain[1].startswith("  settings: ") and "api_key=" in plain[1]
    assert plain[3] == "  test: ok: can read source.json"
    assert not any(ch in "".join(plain) for ch in "│┃━")


def test_test_trigger_and_test_step_move_no_cursor(cli_project):
    trig = zaplite(cli_project, "test-trigger", "copy", "--json")
    assert trig.returncode == 0, trig.stderr
    shown = json.loads(trig.stdout)
    assert shown["built_in_sample"] is False
    assert [r["id"] for r in shown["records"]] == [3, 2, 1]
    dry = zaplite(cli_project, "test-step", "copy", "--dry-run", "--json")
    report = json.loads(dry.stdout)
    assert report["status"] == "dry-run" and report["params"]["email"] == "user3@example.com"
    assert not (cli_project / "sink.json").exists()
    sent = json.loads(zaplite(cli_project, "test-step", "copy", "w", "--json").stdout)
    assert sent["status"] == "success" and sent["response"] == {"written": True, "count": 1}
    run = zaplite(cli_project, "run", "--once")
    assert "3 delivered" in run.stdout  # the cursor had not moved


def test_unknown_zap_is_exit_2_without_traceback(cli_project):
    out = zaplite(cli_project, "test-trigger", "nope")
    assert out.returncode == 2
    assert "There is no zap 'nope'" in out.stderr and "Traceback" not in out.stderr


def test_log_file_setting_records_the_runs(cli_project):
    config = cli_project / "zaplite.toml"
    config.write_text(
        config.read_text().replace("[settings]\n", '[settings]\nlog_file = "zaplite.log"\n')
    )
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 0, out.stderr
    log = (cli_project / "zaplite.log").read_text()
    assert "copy: ok: 3 new, 3 delivered" in log
    assert SECRET not in log


def test_unwritable_log_file_is_one_clear_error(cli_project):
    config = cli_project / "zaplite.toml"
    config.write_text(
        config.read_text().replace("[settings]\n", '[settings]\nlog_file = "missing/dir/z.log"\n')
    )
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 2
    assert "settings.log_file: cannot write" in out.stderr and "Traceback" not in out.stderr


def test_a_log_file_that_is_a_pipe_nobody_reads_is_refused_not_waited_on(cli_project):
    os.mkfifo(cli_project / "zaplite.log")
    config = cli_project / "zaplite.toml"
    config.write_text(
        config.read_text().replace("[settings]\n", '[settings]\nlog_file = "zaplite.log"\n')
    )
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 2, out.stderr
    assert "settings.log_file: cannot write" in out.stderr
    assert "a named pipe that no process reads" in out.stderr and "Traceback" not in out.stderr


def _special_file(kind: str, path: Path) -> None:
    """Make ``path`` a named pipe, a listening socket's file or a link to a device."""
    if kind == "named pipe":
        os.mkfifo(path)
    elif kind == "socket":
        import socket

        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
    else:
        path.symlink_to("/dev/null")


@pytest.mark.parametrize("kind", ["named pipe", "socket", "device"])
def test_a_plugin_file_that_is_not_a_regular_file_is_refused_not_opened(cli_project, kind):
    """A FIFO named like a plugin would block start-up for ever waiting for a writer."""
    plugins = cli_project / "plugins"
    plugins.mkdir()
    (plugins / "files.py").write_text((PLUGINS_DIR / "files.py").read_text())
    _special_file(kind, plugins / "hostile.py")
    env = {"ZAPLITE_PLUGINS_DIR": str(plugins), "FILES_API_KEY": SECRET, "ZAPLITE_LOAD_PLUGINS": ""}
    out = Cli(cli_project, env=env)("validate", timeout=30)
    assert out.returncode == 2, out.stderr
    assert f"{plugins / 'hostile.py'}: the plugin 'hostile' is not a regular file" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_zaplite_toml_that_is_a_named_pipe_is_refused_not_taken_for_missing(tmp_path):
    os.mkfifo(tmp_path / "zaplite.toml")
    out = Cli(tmp_path)("validate", timeout=30)
    assert out.returncode == 2, out.stderr
    assert "zaplite.toml: is not a regular file (a pipe, device or socket)" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_refuses_a_folder_whose_zaplite_toml_is_a_named_pipe_without_waiting(tmp_path):
    folder = tmp_path / "zaplite-demo"
    folder.mkdir()
    os.mkfifo(folder / "zaplite.toml")
    out = Cli(tmp_path)("demo", timeout=30)
    assert out.returncode == 2, out.stderr
    assert "zaplite-demo/zaplite.toml: is not a regular file" in out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["zaplite.toml"]


def _deep(depth: int) -> Any:
    value: Any = "{{trigger.email}}"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("param", "value", "reason"),
    [
        ("email", _deep(250), "nested more than"),
        ("email", " ".join(["{{trigger.email}}"] * 10_000), "10,000 templates"),
        ("email", "{{trigger.email}}" + "x" * 200_000, "characters long"),
    ],
    ids=["250 levels", "10,000 templates in one text", "a 200,000-character text"],
)
def test_validate_refuses_templates_past_the_limits_naming_zap_and_param(
    cli_project: Path, param: str, value: Any, reason: str
) -> None:
    """What `validate` accepts a run can render: past a limit is one sentence, exit 2."""
    zap = json.loads((cli_project / "zaps" / "copy.json").read_text())
    zap["steps"][0]["params"][param] = value
    (cli_project / "zaps" / "copy.json").write_text(json.dumps(zap))
    out = zaplite(cli_project, "validate")
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(lines) == 1, out.stderr
    assert "copy.json" in lines[0] and f"steps[0].params.{param}" in lines[0], lines[0]
    assert reason in lines[0], lines[0]
    ran = zaplite(cli_project, "run", "--once")  # the broken zap is skipped, said once
    assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr
    assert lines[0].split(": ", 1)[1].rstrip(".") in ran.stderr
    assert not (cli_project / "sink.json").exists()


def test_a_zap_at_the_template_limits_validates_and_delivers(cli_project: Path) -> None:
    from zaplite.mapping.templates import MAX_TEMPLATES_PER_STRING

    zap = json.loads((cli_project / "zaps" / "copy.json").read_text())
    many = " ".join(["{{trigger.email}}"] * MAX_TEMPLATES_PER_STRING)
    zap["steps"][0]["params"]["email"] = many
    (cli_project / "zaps" / "copy.json").write_text(json.dumps(zap))
    assert zaplite(cli_project, "validate").returncode == 0
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 0, out.stderr
    assert "3 delivered" in out.stdout
    sink = json.loads((cli_project / "sink.json").read_text())
    assert sink[0]["email"] == " ".join(["user1@example.com"] * MAX_TEMPLATES_PER_STRING)


@pytest.mark.parametrize(
    "args",
    [
        ("history",),
        ("run", "--once"),
        ("run",),
        ("replay", "--failed"),
        ("connections",),
        ("validate",),
        ("test-trigger", "copy"),
    ],
)
def test_a_folder_without_zaplite_toml_is_refused_and_nothing_is_created(tmp_path, args):
    out = Cli(tmp_path)(*args, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith(f"Error: No zaplite.toml in {tmp_path}:")
    assert "zaps folder" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_apps_needs_no_zaplite_toml(tmp_path):
    out = Cli(tmp_path)("apps", "--json")
    assert out.returncode == 0, out.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("run", "--once"), ("run",)])
def test_an_unset_variable_stops_run_at_start_up(cli_project, args):
    """Even with nothing to send (--once), and before the daemon's first tick."""
    out = zaplite(cli_project, *args, unset=("FILES_API_KEY",))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "connections.files.api_key: environment variable FILES_API_KEY is not set" in (
        out.stderr
    )
    assert "is running" not in out.stderr and not (cli_project / "sink.json").exists()


def test_run_once_with_a_broken_zap_file_runs_the_others_and_exits_2(cli_project):
    (cli_project / "zaps" / "broken.json").write_text('{"id": "broken", ')
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "broken.json" in out.stderr and "3 delivered" in out.stdout


def test_run_once_with_two_files_of_one_id_blames_the_newer_and_exits_2(cli_project):
    import os

    original = cli_project / "zaps" / "copy.json"
    os.utime(original, (1_700_000_000, 1_700_000_000))
    duplicate = cli_project / "zaps" / "a-copy.json"
    zap = json.loads(original.read_text())
    zap["steps"][0]["params"]["email"] = "copy@example.com"
    duplicate.write_text(json.dumps(zap))
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 2, out.stdout + out.stderr
    assert f'{duplicate}: id: the zap id "copy" is already used by {original}' in out.stderr
    sent = json.loads((cli_project / "sink.json").read_text())
    assert "copy@example.com" not in json.dumps(sent)  # the older file ran


def test_a_yaml_zap_is_not_silently_ignored(cli_project):
    (cli_project / "zaps" / "x.yaml").write_text("id: x\n")
    out = zaplite(cli_project, "validate")
    assert out.returncode == 2
    assert "x.yaml: zap files are JSON and end in .json; this .yaml file is not read" in (
        out.stderr
    )


def test_validate_says_error_as_every_command_does(cli_project):
    (cli_project / "zaps" / "copy.json").write_text('{"id": "copy", ')
    out = zaplite(cli_project, "validate")
    assert out.stderr.startswith("Error: ") and "error: " not in out.stderr


def test_a_run_with_failed_tasks_is_not_a_green_ok(cli_project):
    records = json.loads((cli_project / "source.json").read_text())
    records[1]["email"] = "not-an-email"
    (cli_project / "source.json").write_text(json.dumps(records))
    out = zaplite(cli_project, "run", "--once")
    assert out.returncode == 1
    assert "copy: finished with failures: 3 new, 2 delivered, 1 failed" in out.stdout
    assert ": ok:" not in out.stdout


def test_history_with_no_match_says_what_was_asked(cli_project):
    assert zaplite(cli_project, "history").stdout == "No tasks yet.\n"
    assert zaplite(cli_project, "run", "--once").returncode == 0
    out = zaplite(cli_project, "history", "--status", "failed")
    assert out.stdout == "No failed tasks.\n"
    assert zaplite(cli_project, "history", "--zap", "copy", "--status", "filtered").stdout == (
        "No filtered tasks of zap copy.\n"
    )


def test_resume_of_a_zap_that_was_not_paused_says_so(cli_project):
    out = zaplite(cli_project, "resume", "copy")
    assert out.returncode == 0 and out.stdout == "copy was not paused: nothing to resume.\n"
    assert zaplite(cli_project, "pause", "copy").returncode == 0
    assert zaplite(cli_project, "resume", "copy").stdout == "copy: resumed\n"


def test_the_daemon_says_when_each_zap_polls_next(cli_project):
    from tests.support.cli import stop

    env = {"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "FILES_API_KEY": SECRET}
    process = Cli(cli_project, env=env).start("run")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while line and "next poll" not in line:
            line = process.stdout.readline()
    finally:
        stop(process)
    assert line.startswith("copy: next poll at ") and line.rstrip().endswith(" UTC, then every 1m.")


def _history_project(cli_project):
    """Three tasks, one failed with a long error, of a zap with a long id."""
    records = json.loads((cli_project / "source.json").read_text())
    records[1]["email"] = "not-an-email-" + "x" * 40
    (cli_project / "source.json").write_text(json.dumps(records))
    zap = json.loads((cli_project / "zaps" / "copy.json").read_text())
    zap["id"] = "opportunity-stage-to-profile"
    (cli_project / "zaps" / "copy.json").write_text(json.dumps(zap))
    assert zaplite(cli_project, "run", "--once").returncode == 1


def test_history_reads_at_80_columns_in_a_terminal(cli_project):
    import re

    _history_project(cli_project)
    env = {"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "FILES_API_KEY": SECRET}
    out = Cli(cli_project, env={**env, "TTY_COMPATIBLE": "1", "COLUMNS": "80"})("history")
    assert out.returncode == 0, out.stderr
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout).splitlines()
    assert lines[0] == "Task history, newest first (times in UTC):"
    assert lines[1].split() == ["task", "when", "status", "zap", "record"]
    assert all(len(line) <= 80 for line in lines), lines
    rows = [line for line in lines[2:] if not line.startswith("    ")]
    assert len(rows) == 3 and all("opportunity-stage-to-profile" in row for row in rows)
    errors = [line.strip() for line in lines[2:] if line.startswith("    ")]
    assert " ".join(errors).startswith("step 'w': the sink refused 'not-an-email-xxx")


def test_history_piped_is_plain_lines(cli_project):
    _history_project(cli_project)
    out = zaplite(cli_project, "history")
    lines = out.stdout.splitlines()
    assert len(lines) == 4 and "\x1b" not in out.stdout  # three tasks and one error line
    newest = lines[0].split()
    assert newest[0] == "3" and newest[3:5] == ["success", "opportunity-stage-to-profile"]
    assert newest[5] == "3"  # the record's id, whole
    assert lines[2].startswith("      step 'w': the sink refused 'not-an-email-")


def test_run_once_shows_progress_in_a_terminal_and_pages_with_v(cli_project):
    env = {"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "FILES_API_KEY": SECRET}
    live = Cli(cli_project, env={**env, "TTY_COMPATIBLE": "1"})("run", "--once")
    assert live.returncode == 0, live.stderr
    assert "copy: 2 read, 2 delivered, 0 failed, 0 filtered" in live.stderr
    records = json.loads((cli_project / "source.json").read_text())
    more = [{"id": n, "email": f"user{n}@example.com", "score": n} for n in range(4, 10)]
    (cli_project / "source.json").write_text(json.dumps(records + more[:3]))
    verbose = zaplite(cli_project, "run", "--once", "-v")
    assert "copy: page 1 of 2 records; so far 2 read, 2 delivered" in verbose.stderr
    (cli_project / "source.json").write_text(json.dumps(records + more))
    piped = zaplite(cli_project, "run", "--once")
    assert piped.returncode == 0 and "3 delivered" in piped.stdout
    assert piped.stderr == ""  # nothing of it when piped


def test_apps_reads_at_80_columns_and_piped_is_one_line_each(tmp_path):
    import re

    wide = Cli(tmp_path, env={"TTY_COMPATIBLE": "1", "COLUMNS": "80"})("apps")
    assert wide.returncode == 0, wide.stderr
    lines = re.sub(r"\x1b\[[0-9;]*m", "", wide.stdout).splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert "salesforce (Salesforce), from the plugin salesforce" in lines
    piped = Cli(tmp_path)("apps").stdout.splitlines()
    assert "  trigger new_contact: Fires when a Contact is created." in piped
    assert "    params (? = optional): fields?, where?, overlap_seconds?" in piped


def test_run_once_of_a_named_zap_is_not_failed_by_another_broken_file(cli_project):
    (cli_project / "zaps" / "broken.json").write_text('{"id": "broken", ')
    out = zaplite(cli_project, "run", "--once", "copy")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken.json" in out.stderr and "3 delivered" in out.stdout
