"""``python -m zaplite.sandbox.clevertap`` serves the emulator in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.paths import REPO
from zaplite.sandbox.server import free_port


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """The emulator started as a module in a child process; its base URL."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(REPO / "plugins"), env.get("PYTHONPATH", "")]
    )
    env["CLEVERTAP_PASSCODE"] = "FROM-ENV"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zaplite.sandbox.clevertap",
            "--port",
            str(port),
            "--account-id",
            "ACC-CLI",
            "--unprocessed-form",
            "object",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/__admin/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
