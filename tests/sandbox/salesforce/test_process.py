"""``python -m zaplite.sandbox.salesforce``: the emulator in its own process, driven over HTTP."""

from __future__ import annotations

import time

from tests.sandbox.salesforce.helpers import CLIENT
from tests.support.processes import Processes


def test_runs_as_a_module(procs: Processes) -> None:
    _, base = procs.emulator("salesforce", "--seed", "--records", "300")
    stats = CLIENT.get(f"{base}/__admin/stats")
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


def test_latency_and_bulk_time_are_options(procs: Processes) -> None:
    _, base = procs.emulator("salesforce", "--latency", "0.3", "--bulk-seconds", "5")
    creds = CLIENT.get(f"{base}/__admin/credentials").json()
    form = {
        "grant_type": "refresh_token",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "refresh_token": creds["refresh_token"],
    }
    token = CLIENT.post(f"{base}/services/oauth2/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    job = CLIENT.post(
        f"{base}/services/data/v64.0/jobs/query",
        json={"operation": "query", "query": "SELECT Id FROM Contact"},
        headers=headers,
    ).json()
    assert time.monotonic() - started >= 0.3, "every API response waits the latency"
    state = CLIENT.get(f"{base}/services/data/v64.0/jobs/query/{job['id']}", headers=headers)
    assert state.json()["state"] in ("UploadComplete", "InProgress")
