"""``zaplite sandbox`` as a person starts it again and again: what it keeps, what it refuses."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from tests.support.cli import Cli, stop

PORTS = ("--salesforce-port", "0", "--clevertap-port", "0")


def _start_and_stop(root: Path, *args: str) -> str:
    """Start ``zaplite sandbox ARGS`` until it says how to use it, then Ctrl-C; its stdout."""
    process = Cli(root).start("sandbox", *args)
    try:
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops the sandbox." not in seen and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen += line
        time.sleep(0.5)  # its Ctrl-C handler is set just after that line
    finally:
        out, err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    return seen + out + err


def test_a_restart_keeps_an_edited_config_and_says_so(tmp_path: Path) -> None:
    first = _start_and_stop(tmp_path, *PORTS)
    folder = tmp_path / "zaplite-sandbox"
    config = folder / "zaplite.toml"
    assert f"Wrote {Path('zaplite-sandbox') / 'zaplite.toml'} for these emulators." in first
    assert "Wrote the example zaps in" in first
    # Unedited: a restart writes it again, for the new ports.
    again = _start_and_stop(tmp_path, *PORTS)
    assert "for these emulators." in again and "Kept the zaps in" in again
    edited = config.read_text().replace('api_version = "64.0"', 'api_version = "65.0"')
    config.write_text(edited + "\n# my note\n")
    kept = _start_and_stop(tmp_path, *PORTS)
    assert config.read_text() == edited + "\n# my note\n"
    assert "Kept zaplite-sandbox/zaplite.toml: it was edited since a sandbox wrote it." in kept
    assert "Wrote" not in kept


def test_a_restart_says_it_reset_the_store(tmp_path: Path) -> None:
    _start_and_stop(tmp_path, *PORTS)
    (tmp_path / "zaplite-sandbox" / "zaplite.db").write_bytes(b"")
    out = _start_and_stop(tmp_path, *PORTS)
    assert "Removed the old store (zaplite.db): the emulators start afresh" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--salesforce-port", "99999"), "--salesforce-port"),
        (("--clevertap-port", "-5"), "--clevertap-port"),
        (("--activity", "--every", "-1"), "--every"),
    ],
)
def test_bad_numbers_are_refused_before_anything_is_made(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    out = Cli(tmp_path)("sandbox", *args, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert named in out.stderr and "Traceback" not in out.stderr
    assert "Internal error" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_busy_port_is_said_not_silently_replaced(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _start_and_stop(tmp_path, "--salesforce-port", str(port), "--clevertap-port", "0")
    assert f"Port {port} is busy: the Salesforce emulator is on port " in out
