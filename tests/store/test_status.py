"""Zap status: auth failures, pause, samples, and the flags a run reads before polling."""

from __future__ import annotations

from zaplite.store import RunStart, Store, ZapStatus


def test_status_of_an_unknown_zap(store: Store) -> None:
    assert store.get_status("z") == ZapStatus("z", None, 0, None, False)
    assert store.list_statuses() == []


def test_auth_failures_count_up_and_clear(store: Store) -> None:
    assert [store.record_auth_failure("z") for _ in range(3)] == [1, 2, 3]
    assert store.record_auth_failure("other") == 1
    assert store.get_status("z").auth_failures == 3
    store.clear_auth_failures("z")
    assert store.get_status("z").auth_failures == 0
    assert store.record_auth_failure("z") == 1
    store.clear_auth_failures("never-seen")  # not an error


def test_pause_and_resume(store: Store) -> None:
    store.record_auth_failure("z")
    store.pause("z", "Salesforce refused the credentials 3 times; fix the connection and resume.")
    status = store.get_status("z")
    assert status.paused and status.paused_reason is not None
    assert status.paused_reason.startswith("Salesforce refused")
    assert status.auth_failures == 1
    store.pause("z", "again")
    assert store.get_status("z").paused_reason == "again"
    store.resume("z")
    status = store.get_status("z")
    assert not status.paused and status.paused_reason is None and status.auth_failures == 0
    store.resume("never-seen")  # not an error


def test_statuses_gather_runs_cursors_and_pauses(store: Store) -> None:
    run = store.start_run("b")
    store.commit_page("c", None, tasks=[], cursor={"ts": 1}, keys=[])
    store.pause("a", "paused by hand")
    statuses = store.list_statuses()
    assert [s.zap_id for s in statuses] == ["a", "b", "c"]
    a, b, c = statuses
    assert a.paused_reason == "paused by hand" and not a.has_cursor and a.last_run_at is None
    (stored_run,) = store.list_runs("b")
    assert b.last_run_at == stored_run.started_at and b.last_run_at.tzinfo is not None
    assert c.has_cursor and not c.paused
    assert store.get_status("b").last_run_at == stored_run.started_at
    store.finish_run(run, "ok")


def test_samples_are_saved_replaced_and_read(store: Store) -> None:
    assert store.get_samples("z") == []
    samples = [{"Id": "003A", "Name": "Ann", "Owner": {"Name": "Bo"}}, {"Id": "003B", "n": 1.5}]
    store.save_samples("z", samples)
    assert store.get_samples("z") == samples
    store.save_samples("z", samples[:1])
    assert store.get_samples("z") == samples[:1]
    store.pause("z", "x")
    assert store.get_samples("z") == samples[:1]  # pausing keeps the samples
    store.save_samples("z", [])
    assert store.get_samples("z") == []
    assert store.get_status("z").paused_reason == "x"  # saving samples keeps the pause


def test_run_start_reads_flags_and_cursor_at_once(store: Store) -> None:
    """The one read a run makes before polling: pause, auth failures and cursor together."""
    assert store.run_start("z") == RunStart(None, 0, None)  # a zap the store never saw
    store.commit_page("z", None, tasks=[], cursor={"ts": "2026-01-01T00:00:00Z"}, keys=[])
    assert store.run_start("z") == RunStart(None, 0, {"ts": "2026-01-01T00:00:00Z"})
    store.record_auth_failure("z")
    store.record_auth_failure("z")
    store.pause("z", "fix the connection")
    start = store.run_start("z")
    assert start == RunStart("fix the connection", 2, {"ts": "2026-01-01T00:00:00Z"})
    assert (start.paused_reason, start.auth_failures) == store.zap_flags("z")
    assert start.cursor == store.get_cursor("z")
    store.pause("other", "paused, never polled")
    assert store.run_start("other") == RunStart("paused, never polled", 0, None)


def test_quick_reads_only_on_a_local_sqlite_file(store: Store, backend: str) -> None:
    """A local SQLite file may be read on the event loop; a server or a shared memory db not."""
    assert store.quick_reads is (backend == "sqlite")
    with Store("sqlite://") as memory:
        assert memory.quick_reads is False
