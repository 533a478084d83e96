"""API calls per connection and hour: every daemon adds its own, a day is read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zaplite.store import Store


def test_calls_add_up_per_hour_and_old_hours_are_forgotten(store: Store) -> None:
    now = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)
    store.add_api_calls({"sf": 3, "other": 1}, at=now - timedelta(hours=30))
    store.add_api_calls({"sf": 5}, at=now - timedelta(hours=2))
    store.add_api_calls({"sf": 7, "other": 0}, at=now - timedelta(minutes=10))
    store.add_api_calls({"sf": 1}, at=now)  # another daemon, the same hour
    assert store.api_calls_since("sf", now - timedelta(hours=24)) == 13
    assert store.api_calls_since("sf", now - timedelta(hours=48)) == 16
    assert store.api_calls_since("other", now - timedelta(hours=48)) == 1
    assert store.api_calls_since("nobody", now - timedelta(hours=48)) == 0
    store.add_api_calls({"sf": 1}, at=now + timedelta(hours=20))  # two days on from the first
    assert store.api_calls_since("sf", now - timedelta(hours=48)) == 14


def test_every_connections_hours_are_read_back_for_the_pace(store: Store) -> None:
    now = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)
    store.add_api_calls({"sf": 3}, at=now - timedelta(hours=2))
    store.add_api_calls({"sf": 5, "other": 2}, at=now - timedelta(hours=1))
    store.add_api_calls({"sf": 7}, at=now)
    hour = now.replace(minute=0)
    assert store.api_call_hours(now - timedelta(minutes=80)) == {
        ("sf", hour - timedelta(hours=1)): 5,
        ("other", hour - timedelta(hours=1)): 2,
        ("sf", hour): 7,
    }
