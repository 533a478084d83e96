"""Runs and tasks: newest-first listings, filters, paging, counts and replay updates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zaplite.store import NewTask, NotFound, Store


def _task(key: str, status: str) -> NewTask:
    return NewTask(key, {"Id": key}, status, [], error="no" if status == "failed" else None)


def _fill(store: Store) -> dict[str, list[int]]:
    """Two zaps with a mix of statuses; returns the task ids of each zap in insertion order."""
    ids: dict[str, list[int]] = {"a": [], "b": []}
    for zap, statuses in (("a", "sfsff"), ("b", "ssx")):
        run = store.start_run(zap)
        full = {"s": "success", "f": "failed", "x": "filtered"}
        tasks = [_task(f"{zap}{i}", full[c]) for i, c in enumerate(statuses)]
        ids[zap] += store.commit_page(zap, run, tasks=tasks, cursor=1, keys=[])
        store.finish_run(run, "ok")
    return ids


def test_runs_start_finish_and_list_newest_first(store: Store) -> None:
    before = datetime.now(UTC)
    first = store.start_run("a")
    second = store.start_run("b")
    third = store.start_run("a")
    store.finish_run(first, "failed", "Salesforce said INVALID_FIELD")
    store.finish_run(second, "interrupted")
    assert [r.id for r in store.list_runs()] == [third, second, first]
    assert [r.id for r in store.list_runs("a")] == [third, first]
    assert [r.id for r in store.list_runs(limit=1)] == [third]
    run = store.list_runs("a")[1]
    assert run.status == "failed" and run.message == "Salesforce said INVALID_FIELD"
    assert run.started_at >= before.replace(microsecond=0) and run.started_at.tzinfo is not None
    assert run.finished_at is not None and run.finished_at >= run.started_at
    latest = store.list_runs("a")[0]
    assert latest.status == "running" and latest.finished_at is None
    assert (latest.found, latest.delivered, latest.failed, latest.filtered) == (0, 0, 0, 0)


def test_finish_run_checks_status_and_id(store: Store) -> None:
    run = store.start_run("a")
    with pytest.raises(ValueError, match="status"):
        store.finish_run(run, "done")
    with pytest.raises(NotFound, match="no run 999"):
        store.finish_run(999, "ok")


def test_tasks_list_newest_first_with_filters_and_paging(store: Store) -> None:
    ids = _fill(store)
    everything = store.list_tasks()
    assert [t.id for t in everything] == sorted(ids["a"] + ids["b"], reverse=True)
    assert [t.id for t in store.list_tasks(zap_id="a")] == ids["a"][::-1]
    failed_a = store.list_tasks(zap_id="a", status="failed")
    assert [t.record_key for t in failed_a] == ["a4", "a3", "a1"]
    assert [t.zap_id for t in store.list_tasks(status="success")] == ["b", "b", "a", "a"]
    page1 = store.list_tasks(limit=3)
    page2 = store.list_tasks(limit=3, before_id=page1[-1].id)
    assert [t.id for t in page1 + page2] == [t.id for t in everything[:6]]
    assert store.list_tasks(zap_id="nobody") == []


def test_count_tasks_by_status(store: Store) -> None:
    assert store.count_tasks() == {"success": 0, "failed": 0, "filtered": 0}
    _fill(store)
    assert store.count_tasks() == {"success": 4, "failed": 3, "filtered": 1}
    assert store.count_tasks(zap_id="b") == {"success": 2, "failed": 0, "filtered": 1}


def test_replay_update_counts_an_attempt_and_keeps_the_record(store: Store) -> None:
    ids = _fill(store)
    task_id = ids["a"][1]
    before = store.get_task(task_id)
    assert before is not None and before.status == "failed" and before.attempts == 1
    steps = [{"id": "p", "status": "success", "input": {}, "output": {"ok": 1}, "error": None}]
    store.update_task(task_id, status="success", steps=steps, error=None)
    after = store.get_task(task_id)
    assert after is not None
    assert (after.status, after.steps, after.error, after.attempts) == ("success", steps, None, 2)
    assert after.record == before.record and after.created_at == before.created_at
    assert after.updated_at >= before.updated_at
    store.update_task(task_id, status="failed", steps=[], error="again")
    again = store.get_task(task_id)
    assert again is not None and again.attempts == 3 and again.error == "again"


def test_unknown_task(store: Store) -> None:
    assert store.get_task(12345) is None
    with pytest.raises(NotFound, match="no task 12345"):
        store.update_task(12345, status="success", steps=[], error=None)
