"""``/healthz`` and ``/readyz``: the store's reachability, within seconds, both ways."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import make_url

from tests.support.tcpproxy import tcp_proxy
from tests.web.conftest import RunningConsole, start_console
from zaplite.testing import ZapliteProject


def _until(console: RunningConsole, status: int, timeout: float) -> Any:
    """The body of the first ``/healthz`` answer with ``status``; fail after ``timeout`` s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        response = console.client.get("/healthz")
        if response.status_code == status:
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"/healthz did not turn {status} within {timeout} s")


def test_healthz_turns_503_when_the_store_is_unreachable_and_200_when_it_returns(
    project: ZapliteProject, postgres_url: str
) -> None:
    url = make_url(postgres_url)
    with tcp_proxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        project.store_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        project.write_config()
        console = start_console(project)
        try:
            assert console.client.get("/readyz").json()["status"] == "ready"
            _until(console, 200, 10)
            proxy.cut()
            body = _until(console, 503, 10)
            assert body["store"] == "unreachable" and "store" in body["reason"]
            assert console.client.get("/readyz").status_code == 200  # ready, though unhealthy
            proxy.restore()
            body = _until(console, 200, 10)
            assert body == {"status": "ok", "scheduler": "none (console only)", "store": "ok"}
        finally:
            console.stop()
