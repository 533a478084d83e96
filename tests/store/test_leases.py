"""Leases between daemons: one owner per zap, expiry, batch renewal and release, races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from zaplite.store import LeaseLost, NewTask, Store


def test_lease_between_two_owners(store: Store) -> None:
    assert store.acquire_lease("z", "daemon-a", 60)
    assert not store.acquire_lease("z", "daemon-b", 60)
    assert store.acquire_lease("z", "daemon-a", 60)  # ours: taken again, extended
    assert store.renew_lease("z", "daemon-a", 60)
    assert not store.renew_lease("z", "daemon-b", 60)
    assert store.acquire_lease("other", "daemon-b", 60)  # leases are per zap
    store.release_lease("z", "daemon-b")  # not b's: nothing happens
    assert not store.acquire_lease("z", "daemon-b", 60)
    store.release_lease("z", "daemon-a")
    assert store.acquire_lease("z", "daemon-b", 60)
    assert not store.renew_lease("z", "daemon-a", 60)


def test_an_expired_lease_can_be_taken(store: Store) -> None:
    assert store.acquire_lease("z", "daemon-a", 0)  # expires at once
    assert store.acquire_lease("z", "daemon-b", 60)
    assert not store.acquire_lease("z", "daemon-a", 60)
    assert not store.renew_lease("z", "daemon-a", 60)


def test_leases_are_renewed_and_released_in_batches(store: Store) -> None:
    """A daemon renews all its leases in one call; the result says which are still its own."""
    ids = [f"z{n}" for n in range(1203)]  # more than one IN (...) chunk
    for zap_id in ids:
        assert store.acquire_lease(zap_id, "daemon-a", 60)
    assert store.acquire_lease("theirs", "daemon-b", 60)
    assert store.renew_leases("daemon-a", [*ids, "theirs", "nobody's"], 60) == set(ids)
    assert store.renew_leases("daemon-a", [], 60) == set()
    store.release_lease("z7", "daemon-a")  # as if it expired
    assert store.acquire_lease("z7", "daemon-b", 60)  # and another daemon took it
    assert "z7" not in store.renew_leases("daemon-a", ids, 60)
    assert store.lease_holder("z7") == "daemon-b", "renewing does not take a lease back"
    store.release_leases("daemon-a", ["z1", "z2", "theirs"])
    assert store.lease_holder("z1") is None and store.lease_holder("z2") is None
    assert store.lease_holder("theirs") == "daemon-b", "only our own leases are released"
    assert store.lease_holder("z3") == "daemon-a"
    store.release_leases("daemon-a")  # all of them
    assert {store.lease_holder(zap_id) for zap_id in ids} == {None, "daemon-b"}
    assert store.lease_holder("theirs") == "daemon-b"


def test_an_expired_lease_still_ours_is_renewed(store: Store) -> None:
    assert store.acquire_lease("z", "daemon-a", 0)  # expired, but nobody took it
    assert store.renew_leases("daemon-a", ["z"], 60) == {"z"}
    assert not store.acquire_lease("z", "daemon-b", 60)


def test_only_one_of_many_racing_owners_gets_the_lease(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(2)]  # two daemons sharing one database
    try:
        owners = [f"daemon-{i}" for i in range(8)]
        with ThreadPoolExecutor(len(owners)) as pool:
            won = list(
                pool.map(lambda i: stores[i % 2].acquire_lease("z", owners[i], 60), range(8))
            )
        taken = [generation for generation in won if generation is not None]
        assert len(taken) == 1
        winner = owners[won.index(taken[0])]
        assert stores[0].renew_lease("z", winner, 60)
    finally:
        for opened in stores:
            opened.close()


def test_every_taking_of_a_lease_has_a_larger_generation_and_renewals_keep_it(
    store: Store,
) -> None:
    first = store.acquire_lease("z", "daemon-a", 0)
    assert first is not None and first > 0
    second = store.acquire_lease("z", "daemon-b", 60)  # a's expired: taken over
    assert second is not None and second > first
    assert store.renew_lease("z", "daemon-b", 60)
    store.check_lease("z", ("daemon-b", second))
    store.release_lease("z", "daemon-b")
    third = store.acquire_lease("z", "daemon-a", 60)  # a fresh row after a release
    assert third is not None and third > second
    assert store.acquire_lease("other", "daemon-a", 60) is not None


def test_a_page_is_recorded_only_while_the_lease_is_held_at_its_generation(store: Store) -> None:
    stale = store.acquire_lease("z", "daemon-a", 0)
    assert stale is not None
    store.commit_page(
        "z", None, tasks=[_task("k1")], cursor=1, keys=["k1"], fence=("daemon-a", stale)
    )
    taken = store.acquire_lease("z", "daemon-b", 60)  # a stalled past its lease
    assert taken is not None
    with pytest.raises(LeaseLost, match="another daemon took the lease"):
        store.check_lease("z", ("daemon-a", stale))
    with pytest.raises(LeaseLost):
        store.commit_page(
            "z", None, tasks=[_task("k2")], cursor=2, keys=["k2"], fence=("daemon-a", stale)
        )
    assert store.get_cursor("z") == 1, "nothing of the fenced page was written"
    assert store.known_keys("z", ["k1", "k2"]) == {"k1"}
    assert [task.record_key for task in store.list_tasks(zap_id="z")] == ["k1"]
    # Released and taken again by a: the old generation still does not hold.
    store.release_lease("z", "daemon-b")
    again = store.acquire_lease("z", "daemon-a", 60)
    assert again is not None and again != stale
    with pytest.raises(LeaseLost):
        store.commit_page("z", None, tasks=[], cursor=3, keys=[], fence=("daemon-a", stale))
    store.commit_page("z", None, tasks=[], cursor=3, keys=[], fence=("daemon-a", again))
    assert store.get_cursor("z") == 3


def _task(key: str) -> NewTask:
    return NewTask(record_key=key, record={"Id": key}, status="success", steps=[])
