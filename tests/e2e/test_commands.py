"""``zaplite demo`` and ``zaplite sandbox`` as a user runs them."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.support.cli import Cli, stop
from zaplite.sandbox.server import free_port


def test_demo_runs_to_completion_inside_its_folder(tmp_path: Path):
    cli = Cli(tmp_path)
    out = cli("demo", timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Delivered by each zap" in out.stdout
    assert "Deal Closed" in out.stdout
    assert "Traceback" not in out.stderr
    # The instant zap got the new contacts as outbound messages, sent to the demo's server.
    [instant] = [
        line.split("│")
        for line in out.stdout.splitlines()
        if "outbound-contact-to-profile" in line and "│" in line
    ]
    assert [cell.strip() for cell in instant[2:4]] == ["3", "3"]  # new, delivered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zaplite-demo"]
    folder = tmp_path / "zaplite-demo"
    assert (folder / "zaplite.toml").exists() and (folder / "zaplite.db").exists()
    assert len(list((folder / "zaps").glob("*.json"))) == 6
    # A second demo reuses its own folder from scratch.
    again = cli("demo", timeout=180)
    assert again.returncode == 0, again.stderr


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path):
    (tmp_path / "zaplite-demo").mkdir()
    (tmp_path / "zaplite-demo" / "notes.txt").write_text("mine")
    out = Cli(tmp_path)("demo")
    assert out.returncode == 2
    assert "was not made by `zaplite sandbox`" in out.stderr
    assert (tmp_path / "zaplite-demo" / "notes.txt").read_text() == "mine"


def test_sandbox_serves_until_ctrl_c(tmp_path: Path):
    process = Cli(tmp_path).start(
        "sandbox",
        "--salesforce-port",
        "0",
        "--clevertap-port",
        "0",
        "--activity",
        "--every",
        "0.5",
    )
    try:
        folder = tmp_path / "zaplite-sandbox"
        deadline = time.monotonic() + 30
        while not (folder / "zaplite.toml").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        cli = Cli(folder)
        first = cli("run", "--once")
        assert first.returncode == 0, first.stderr
        time.sleep(1.5)  # activity happens
        second = cli("run", "--once")
        assert second.returncode == 0, second.stderr
        assert "new-contact-to-profile: ok: 0 new" not in second.stdout
    finally:
        out, err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert "Salesforce emulator: http://127.0.0.1:" in out
    assert "salesforce: new contact" in out
    assert "Sandbox stopped." in out


def test_sandbox_sends_outbound_messages_to_the_daemon_until_acknowledged(tmp_path: Path):
    port = free_port()
    hook = (
        f"http://127.0.0.1:{port}/hooks/salesforce/outbound-contact-to-profile"
        "?token=sandbox-outbound-token"
    )
    sandbox = Cli(tmp_path).start(
        "sandbox",
        "--salesforce-port",
        "0",
        "--clevertap-port",
        "0",
        "--activity",
        "--every",
        "0.5",
        "--outbound",
        hook,
    )
    daemon = None
    try:
        folder = tmp_path / "zaplite-sandbox"
        deadline = time.monotonic() + 30
        while not (folder / "zaplite.toml").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # contacts are created before the daemon listens: retried until it does
        daemon = Cli(folder).start("run", "--http", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        history: list = []
        while time.monotonic() < deadline:
            history = [
                task
                for task in Cli(folder).json("history", "--zap", "outbound-contact-to-profile")
                if task["status"] == "success"
            ]
            if len(history) >= 3:
                break
            time.sleep(0.5)
        assert len(history) >= 3
    finally:
        if daemon is not None:
            stop(daemon, signal.SIGTERM)
        out, err = stop(sandbox, signal.SIGINT)
    assert f"Outbound messages for new contacts go to {hook}" in out
    assert sandbox.returncode == 0, err
