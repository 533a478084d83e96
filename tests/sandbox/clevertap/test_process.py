"""``python -m zaplite.sandbox.clevertap`` serves the emulator in its own process."""

from __future__ import annotations

import httpx
import pytest

from tests.support.processes import Processes


@pytest.fixture
def emulator_process(procs: Processes) -> str:
    """The emulator started as a module in a child process; its base URL."""
    args = ["--account-id", "ACC-CLI", "--unprocessed-form", "object"]
    _, url = procs.emulator("clevertap", *args, env={"CLEVERTAP_PASSCODE": "FROM-ENV"})
    return url


def test_module_serves_uploads_with_the_given_account(emulator_process: str) -> None:
    headers = {"X-CleverTap-Account-Id": "ACC-CLI", "X-CleverTap-Passcode": "FROM-ENV"}
    record = {"identity": "u", "type": "profile", "profileData": {"Gender": "?"}}
    body = httpx.post(
        f"{emulator_process}/1/upload",
        json={"d": [record, {**record, "profileData": {"Name": "U"}}]},
        headers=headers,
    ).json()
    assert body["processed"] == 1
    assert body["unprocessed"][0]["record"] == record
    default = {"X-CleverTap-Account-Id": "TEST-ZAP-LITE", "X-CleverTap-Passcode": "FROM-ENV"}
    assert (
        httpx.post(f"{emulator_process}/1/upload", json={"d": []}, headers=default).status_code
        == 401
    )
    stats = httpx.get(f"{emulator_process}/__admin/stats").json()
    assert stats["upload_count"] == 2
    assert stats["profiles"] == 1


def test_benchmark_batches_are_valid_and_the_script_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from zaplite.sandbox.clevertap import bench, check_record

    assert all(check_record(r) is None for r in bench.make_batch(1000, invalid_every=0))
    assert sum(check_record(r) is not None for r in bench.make_batch(100, invalid_every=10)) == 10
    bench.main(["--clients", "2", "--batches", "2"])
    out = capsys.readouterr().out
    assert "validation only:" in out
    assert "HTTP, 2 client(s): 4 batches of 1,000" in out


def test_port_0_serves_on_a_free_port_and_prints_it(emulator_process: str) -> None:
    assert not emulator_process.endswith(":0")  # the URL printed is the port it listens on
    assert httpx.get(f"{emulator_process}/__admin/stats").status_code == 200


def test_a_busy_port_is_one_sentence_and_exit_1() -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "zaplite.sandbox.clevertap", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"The emulator could not listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
