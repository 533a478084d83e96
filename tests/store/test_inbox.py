"""Records pushed to instant triggers: stored once per key, handed out, marked delivered with the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zaplite.store import NewTask, Store, schema
from zaplite.store.inbox import RECEIVED_KEPT


def _task(key: str) -> NewTask:
    return NewTask(record_key=key, record={"Id": key}, status="success", steps=[], error=None)


def test_receive_stores_each_key_once_and_hands_out_the_undelivered_oldest_first(
    store: Store,
) -> None:
    assert store.receive("z", [("n1", {"Id": "a"}), ("n2", {"Id": "b"}), ("n1", {"Id": "a"})]) == 2
    assert store.receive("z", [("n2", {"Id": "b"}), ("n3", {"Id": "c"})]) == 1  # n2 is a repeat
    assert store.receive("other", [("n1", {"Id": "x"})]) == 1  # keys are per zap
    pending = store.undelivered("z")
    assert [(item.key, item.record) for item in pending] == [
        ("n1", {"Id": "a"}),
        ("n2", {"Id": "b"}),
        ("n3", {"Id": "c"}),
    ]
    assert [item.key for item in store.undelivered("z", limit=2)] == ["n1", "n2"]
    assert [item.key for item in store.undelivered("z", after=pending[1].id)] == ["n3"]
    assert store.recent_received("z", 2) == [{"Id": "c"}, {"Id": "b"}]


def test_commit_page_marks_the_page_delivered_in_its_transaction(store: Store) -> None:
    store.receive("z", [("n1", {"Id": "a"}), ("n2", {"Id": "b"})])
    run = store.start_run("z")
    store.commit_page(
        "z", run, tasks=[_task("n1")], cursor=None, keys=["n1"], received_keys=["n1", "n0"]
    )
    assert [item.key for item in store.undelivered("z")] == ["n2"]
    # A delivered key is still known: its repeat is not stored (nor delivered) again.
    assert store.receive("z", [("n1", {"Id": "a"})]) == 0
    assert [item.key for item in store.undelivered("z")] == ["n2"]
    assert len(store.recent_received("z", 10)) == 2  # test-trigger still sees both


def test_a_failed_page_commit_leaves_the_records_undelivered(store: Store) -> None:
    store.receive("z", [("n1", {"Id": "a"})])
    with pytest.raises(ValueError):
        store.commit_page(
            "z",
            None,
            tasks=[NewTask("n1", {"Id": "a"}, "nonsense", [], None)],
            cursor=None,
            keys=["n1"],
            received_keys=["n1"],
        )
    assert [item.key for item in store.undelivered("z")] == ["n1"]


def test_delivered_records_are_forgotten_a_day_later(store: Store) -> None:
    store.receive("z", [("old", {"Id": "a"}), ("new", {"Id": "b"})])
    store.commit_page("z", None, tasks=[], cursor=None, keys=[], received_keys=["old", "new"])
    received = schema.received
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(received)
            .where(received.c.key == "old")
            .values(delivered_at=datetime.now(UTC) - RECEIVED_KEPT - timedelta(minutes=1))
        )
    store.receive("z", [("later", {"Id": "c"})])  # each write sweeps the zap's expired rows
    assert sorted(store.recent_received("z", 10), key=str) == [{"Id": "b"}, {"Id": "c"}]
    assert store.receive("z", [("old", {"Id": "a"})]) == 1  # past Salesforce's 24 h of retries


def test_a_write_that_fails_stores_nothing(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises, nothing is kept
        store.receive("z", [("n1", {"Id": "a"}), ("n2", {"bad": object()})])
    assert store.undelivered("z") == []
