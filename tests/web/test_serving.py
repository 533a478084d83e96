"""``zaplite run --http``, ``[http] listen`` and ``zaplite console`` as a user starts them."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import Cli, stop
from tests.support.files_project import files_project
from tests.support.paths import PLUGINS_DIR
from zaplite.sandbox.server import free_port
from zaplite.web.server import is_loopback

ENV = {"ZAPLITE_PLUGINS_DIR": str(PLUGINS_DIR), "ZAPLITE_LOAD_PLUGINS": ""}


def _get(url: str, timeout: float = 30.0) -> httpx.Response:
    """GET ``url`` once the server listens; ``/readyz`` is awaited until it says ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=5)
        except httpx.TransportError:
            response = None
        if response is not None and (response.status_code != 503 or "/readyz" not in url):
            return response
        if time.monotonic() > deadline:
            if response is None:
                raise AssertionError(f"{url} never answered")
            return response
        time.sleep(0.1)


def _project(tmp_path: Path, http: str = "") -> Cli:
    """The files project (one zap, ``copy``), with ``http`` added to its ``zaplite.toml``."""
    root = files_project(tmp_path / "proj", [{"id": 1, "email": "a@example.com"}], every="1s")
    with (root / "zaplite.toml").open("a") as config:
        config.write("\n" + http)
    return Cli(root, env=ENV)


def test_the_daemon_serves_the_console_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cli = _project(tmp_path, f'[http]\nlisten = "127.0.0.1:{port}"\n')
    process = cli.start("run")
    try:
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/readyz").json() == {"status": "ready", "zaps": 1}
        deadline = time.monotonic() + 30
        while "zaplite_tasks_total{" not in (text := httpx.get(f"{base}/metrics").text):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert 'zaplite_tasks_total{status="success",zap="copy"} 1.0' in text
        assert httpx.get(f"{base}/healthz").json()["scheduler"] == "running"
        page = httpx.get(f"{base}/zaps/copy").text
        assert '<td class="key">1</td>' in page and "1 delivered" in page
    finally:
        _out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert f"The console is at http://127.0.0.1:{port}/" in err
    assert "stopped cleanly" in err and "Traceback" not in err


def test_a_non_loopback_address_needs_a_token(tmp_path: Path) -> None:
    cli = _project(tmp_path)
    refused = cli("run", "--http", "0.0.0.0:0")
    assert refused.returncode == 2
    assert "without a token" in refused.stderr and "Traceback" not in refused.stderr
    configured = _project(tmp_path / "b", '[http]\nlisten = "0.0.0.0:8642"\n')
    refused = configured("console")
    assert refused.returncode == 2
    assert "zaplite.toml: http.listen:" in refused.stderr.replace("\n", "")
    assert cli("run", "--http", "not a port:x").returncode == 2
    assert cli("run", "--once", "--http", "8642").returncode == 2


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.com", False),
    ],
)
def test_which_addresses_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_console_serves_the_history_without_running_zaps(tmp_path: Path) -> None:
    cli = _project(tmp_path)
    assert cli("run", "--once").returncode == 0
    port = free_port()
    process = cli.start("console", "--http", str(port))
    try:
        page = _get(f"http://127.0.0.1:{port}/").text
        assert "console only: no zap runs in this process" in page
        assert 'data-zap="copy"' in page and "1 delivered" in page
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["scheduler"] == "none (console only)"
    finally:
        _out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_the_demo_serves_the_console_of_its_zaps(tmp_path: Path) -> None:
    port = free_port()
    cli = Cli(tmp_path)
    process = cli.start("demo", "--keep-running", "--every", "1", "--http", f"127.0.0.1:{port}")
    try:
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/readyz", timeout=60).json()["zaps"] == 6
        page = httpx.get(base + "/").text
        for zap in ("new-contact-to-profile", "lead-status-to-profile", "closed-won-to-event"):
            assert f'data-zap="{zap}"' in page
        assert re.search(r"[1-9][0-9]* delivered in the last 24 hours", page)
    finally:
        _out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
