"""``python -m zaplite.sandbox.salesforce``: the emulator in its own process, driven over HTTP."""

from __future__ import annotations

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
