"""The daily API allocation is counted over a rolling 24 hours, as Salesforce counts it."""

from __future__ import annotations

import httpx
import pytest

from tests.support.clock import Clock
from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.salesforce.usage import WINDOW_SECONDS, ApiUsage


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> SalesforceEmulator:
    """An empty org whose API usage is counted on the test's clock."""
    return SalesforceEmulator(clock=clock)


def test_a_spent_allocation_comes_back_as_the_calls_leave_the_24_hours(
    api: httpx.Client, emu: SalesforceEmulator, clock: Clock
) -> None:
    emu.set_quota(max=3, used=0)
    assert [api.get("/limits").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/limits")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    clock.now += WINDOW_SECONDS - 120
    assert api.get("/limits").status_code == 403, "still within the 24 hours"
    clock.now += 180
    answer = api.get("/limits")
    assert answer.status_code == 200
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    assert answer.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}


def test_calls_are_forgotten_minute_by_minute(clock: Clock) -> None:
    usage = ApiUsage(10, clock)
    assert usage.take() and usage.take()
    clock.now += 3600
    assert usage.take()
    assert usage.used == 3
    clock.now += WINDOW_SECONDS - 3600 + 60  # the first two are now more than a day old
    assert usage.used == 1
    clock.now += 3600
    assert usage.used == 0


def test_setting_the_usage_counts_it_now_and_forgets_the_past(clock: Clock) -> None:
    usage = ApiUsage(5, clock)
    for _ in range(5):
        assert usage.take()
    assert not usage.take()
    usage.set(5, used=4)
    assert usage.used == 4 and usage.take() and not usage.take()
    usage.set(8)  # the allocation only
    assert usage.used == 5 and usage.max == 8
