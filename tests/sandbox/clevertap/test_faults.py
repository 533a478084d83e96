"""Injected failures, dropped connections, latency and the concurrency limit."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.sandbox.clevertap.helpers import AUTH, event, profile
from zaplite.sandbox.clevertap import CleverTapEmulator

TOO_MANY = {"status": "fail", "error": "Too many concurrent requests", "code": 429}


def test_fail_next_answers_the_next_n_requests_then_recovers(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    emu.fail_next(2)
    first = client.post("/1/upload", json={"d": [profile()]})
    second = client.post("/1/upload", json={"d": [profile()]})
    third = client.post("/1/upload", json={"d": [profile()]})
    assert first.status_code == second.status_code == 503
    assert first.json() == {"status": "fail", "error": "Service Unavailable", "code": 503}
    assert "retry-after" not in first.headers
    assert third.status_code == 200
    assert emu.upload_count == 3
    assert [r["status"] for r in emu.requests] == [503, 503, 200]
    assert len(emu.profiles) == 1


def test_fail_next_with_body_and_retry_after(client: httpx.Client, emu: CleverTapEmulator) -> None:
    emu.fail_next(1, status=429, body={"status": "fail", "error": "slow down"}, retry_after=3)
    emu.fail_next(
        1, status=500, body="<html>oops</html>", retry_after="Wed, 21 Oct 2015 07:28:00 GMT"
    )
    first = client.post("/1/upload", json={"d": [profile()]})
    assert first.status_code == 429
    assert first.headers["retry-after"] == "3"
    assert first.json() == {"status": "fail", "error": "slow down"}
    second = client.post("/1/upload", json={"d": [profile()]})
    assert second.status_code == 500
    assert second.text == "<html>oops</html>"
    assert second.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert emu.profiles == {}


def test_faults_do_not_apply_to_unauthenticated_requests(
    emu: CleverTapEmulator, base_url: str, client: httpx.Client
) -> None:
    emu.fail_next(1)
    assert httpx.post(f"{base_url}/1/upload", json={"d": []}).status_code == 401
    assert client.post("/1/upload", json={"d": []}).status_code == 503


def test_drop_next_closes_the_connection_and_stores_nothing(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    emu.drop_next(1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/1/upload", json={"d": [profile()]})
    assert emu.profiles == {}
    assert emu.requests[-1]["status"] == 0
    assert client.post("/1/upload", json={"d": [profile()]}).status_code == 200
    assert len(emu.profiles) == 1


def test_drop_after_processing_stores_the_records(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    emu.drop_next(1, after_processing=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/1/upload", json={"d": [event(Amount=1)]})
    assert len(emu.events) == 1
    client.post("/1/upload", json={"d": [event(Amount=1)]})
    assert len(emu.events) == 2


def test_faults_are_taken_in_the_order_they_were_added(
    client: httpx.Client, emu: CleverTapEmulator
) -> None:
    emu.fail_next(1, status=502)
    emu.drop_next(1)
    emu.fail_next(1, status=504)
    assert client.post("/1/upload", json={"d": []}).status_code == 502
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/1/upload", json={"d": []})
    assert client.post("/1/upload", json={"d": []}).status_code == 504
    assert client.post("/1/upload", json={"d": []}).status_code == 200


def test_reset_forgets_faults_and_state(client: httpx.Client, emu: CleverTapEmulator) -> None:
    client.post("/1/upload", json={"d": [profile(), event()]})
    profiles, events = emu.profiles, emu.events
    counters = ["upload_count", "processed", "unprocessed", "throttled", "deleted"]
    counters += ["in_flight", "peak_in_flight"]
    assert emu.stats()["processed"] == 2 and emu.stats()["peak_in_flight"] == 1
    emu.fail_next(5)
    emu.latency = 0.5
    emu.reset()
    assert profiles == {} and events == [] and emu.requests == []
    assert emu.profiles is profiles
    assert {name: emu.stats()[name] for name in counters} == dict.fromkeys(counters, 0)
    assert emu.latency == 0.0
    assert client.post("/1/upload", json={"d": []}).status_code == 200


async def _burst(url: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30.0) as http:
        return await asyncio.gather(
            *(http.post("/1/upload", json={"d": [event(f"u{i}")]}) for i in range(n))
        )


def test_more_than_the_concurrency_limit_gets_429(emu: CleverTapEmulator, base_url: str) -> None:
    emu.latency = 1.0
    responses = asyncio.run(_burst(base_url, 20))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 1
    for response in responses:
        if response.status_code == 429:
            assert response.json() == TOO_MANY
            assert "retry-after" not in response.headers
    stats = emu.stats()
    assert stats["peak_in_flight"] == 15
    assert stats["throttled"] == statuses.count(429)
    assert len(emu.events) == statuses.count(200)
    assert stats["in_flight"] == 0


def test_concurrency_limit_and_retry_after_are_configurable(ct_served: object) -> None:
    emu = CleverTapEmulator(max_concurrent=2, latency=1.0, retry_after_429=1)
    with emu.serve() as server:
        responses = asyncio.run(_burst(server.url, 5))
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled
    assert all(r.headers["retry-after"] == "1" for r in throttled)
    assert emu.stats()["peak_in_flight"] == 2


def test_latency_applies_to_uploads(client: httpx.Client, emu: CleverTapEmulator) -> None:
    emu.latency = 0.2
    response = client.post("/1/upload", json={"d": []})
    assert response.status_code == 200
    assert response.elapsed.total_seconds() > 0.15


def test_drop_without_uvicorn_answers_500_instead(ct_served: object) -> None:
    emu = CleverTapEmulator()
    emu.drop_next(1)

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=emu.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            return await http.post("/1/upload", json={"d": [profile()]}, headers=AUTH)

    response = asyncio.run(run())
    assert response.status_code == 500
    assert response.json()["error"] == "The emulator's server cannot drop connections."
    assert emu.profiles == {}
