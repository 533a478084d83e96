"""``python -m zaplite.sandbox.salesforce``: the emulator in its own process, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.sandbox.salesforce.helpers import CLIENT
from tests.support.paths import REPO
from zaplite.sandbox.server import free_port


def test_runs_as_a_module() -> None:
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]
        ),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zaplite.sandbox.salesforce",
            "--port",
            str(port),
            "--seed",
            "--records",
            "300",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                stats = CLIENT.get(f"{base}/__admin/stats")
                break
            except httpx.TransportError:
                assert process.poll() is None, (
                    process.stderr.read().decode() if process.stderr else ""
                )
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
        assert stats.json()["records"]["Contact"] >= 330
        creds = CLIENT.get(f"{base}/__admin/credentials").json()
        form = {
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"],
        }
        token = CLIENT.post(f"{base}/services/oauth2/token", data=form).json()
        assert token["instance_url"] == base
        response = CLIENT.get(
            f"{base}/services/data/v64.0/query",
            params={"q": "SELECT COUNT() FROM Opportunity"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert response.json()["totalSize"] == 15
    finally:
        process.terminate()
        process.wait(timeout=10)
