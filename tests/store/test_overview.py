"""The console's reads: each zap's activity, keyset pages of tasks, search by record, connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from zaplite.store import ConnectionStatus, NewTask, Store


def _tasks(zap: str, statuses: str, prefix: str = "") -> list[NewTask]:
    full = {"s": "success", "f": "failed", "x": "filtered"}
    return [
        NewTask(f"{prefix}{zap}{i}", {"Id": f"{zap}{i}"}, full[c], [], None)
        for i, c in enumerate(statuses)
    ]


def test_activity_counts_the_last_24_hours_and_the_last_run(store: Store) -> None:
    run = store.start_run("a")
    store.commit_page("a", run, tasks=_tasks("a", "ssfx"), cursor=1, keys=[])
    store.finish_run(run, "ok")
    store.pause("b", "paused from the console")
    other = store.start_run("c")
    store.finish_run(other, "failed", "no sign-in")
    activity = store.zap_activity(["a", "b", "never", "c"])
    assert activity["c"].last_run is not None and activity["c"].last_run.id == other
    a = activity["a"]
    assert a.counts == {"success": 2, "failed": 1, "filtered": 1}
    assert sum(a.hourly) == 2
    assert a.last_run is not None and a.last_run.id == run and a.last_run.found == 4
    assert activity["b"].paused_reason == "paused from the console"
    assert activity["never"].last_run is None and activity["never"].counts["success"] == 0
    # Which bar holds the tasks is read at the time they were stored: the clock may pass
    # the hour between the commit and a read at "now", which moves them one bar left.
    stored = store.page_tasks("a", limit=1)[0].created_at
    assert store.zap_activity(["a"], now=stored)["a"].hourly[-1] == 2
    # An hour on they are in the second-to-last bar; a day later they are gone.
    later = store.zap_activity(["a"], now=stored + timedelta(hours=1))["a"]
    assert later.hourly[-2:] == [2, 0]
    gone = store.zap_activity(["a"], now=stored + timedelta(hours=25))["a"]
    assert gone.counts["success"] == 0 and sum(gone.hourly) == 0
    assert {"a", "b"} <= store.known_zap_ids() | {"a"}


def test_a_replay_moves_the_task_between_the_hourly_counts(store: Store) -> None:
    [failed] = store.commit_page("a", None, tasks=_tasks("a", "f"), cursor=1, keys=[])
    store.update_task(failed, status="success", steps=[], error=None)
    assert store.zap_activity(["a"])["a"].counts == {"success": 1, "failed": 0, "filtered": 0}
    store.update_task(failed, status="success", steps=[], error=None)  # no change, no count
    assert store.zap_activity(["a"])["a"].counts["success"] == 1


def test_task_pages_go_back_and_forth_by_id(store: Store) -> None:
    ids = store.commit_page("a", None, tasks=_tasks("a", "sfsfsfs"), cursor=1, keys=[])
    store.commit_page("b", None, tasks=_tasks("b", "sss"), cursor=1, keys=[])
    first = store.page_tasks("a", limit=3)
    assert [t.id for t in first] == ids[::-1][:3]
    older = store.page_tasks("a", before_id=first[-1].id, limit=3)
    assert [t.id for t in older] == ids[::-1][3:6]
    newer = store.page_tasks("a", after_id=older[0].id, limit=3)
    assert [t.id for t in newer] == [t.id for t in first]
    failed = store.page_tasks("a", status="failed", limit=2)
    assert [t.id for t in failed] == [ids[5], ids[3]]
    assert [t.id for t in store.page_tasks("a", status="failed", after_id=ids[1])] == [
        ids[5],
        ids[3],
    ]


def test_search_finds_a_record_by_its_id_and_by_its_key_prefix(store: Store) -> None:
    plain = NewTask("003A", {}, "success", [])
    updated = [NewTask(f"006B|2026-01-0{i}", {}, "success", []) for i in (1, 2)]
    other = NewTask("006BC|2026", {}, "success", [])
    percent = NewTask("a%b|1", {}, "failed", [])
    ids = store.commit_page("z", None, tasks=[plain, *updated, other, percent], cursor=1, keys=[])
    assert [t.id for t in store.search_tasks("z", "003A")] == [ids[0]]
    assert [t.id for t in store.search_tasks("z", "006B")] == [ids[2], ids[1]]
    assert [t.id for t in store.search_tasks("z", "a%b")] == [ids[4]]
    assert store.search_tasks("z", "a%") == []
    assert store.search_tasks("other", "003A") == []


def test_connection_statuses_are_replaced_by_newer_news(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    store.save_connection_statuses([ConnectionStatus("sf", now, None, None, 10, 100, now)])
    store.save_connection_statuses([ConnectionStatus("sf", now, "refused", now, 11, 100, now)])
    [status] = store.connection_statuses().values()
    assert status.last_error == "refused" and status.usage_used == 11
    assert status.last_ok_at == now


def test_activity_names_the_daemon_holding_a_zaps_lease(store: Store) -> None:
    assert store.acquire_lease("a", "host:1:abc", 30)
    activity = store.zap_activity(["a", "b"])
    assert activity["a"].lease_owner == "host:1:abc"
    assert activity["b"].lease_owner is None
    assert "a" in store.known_zap_ids()  # a zap only another daemon's files name


def test_a_zaps_pages_and_the_search_use_their_indexes_on_sqlite(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'z.db'}") as store:
        store.commit_page("z", None, tasks=_tasks("z", "ssf"), cursor=1, keys=[])
        captured: list[tuple[str, object]] = []

        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def note(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
            if statement.startswith("SELECT") and "FROM tasks" in statement:
                captured.append((statement, params))

        def plans() -> list[str]:
            with store.engine.connect() as connection:
                found = [
                    " ".join(
                        str(row[-1])
                        for row in connection.exec_driver_sql(
                            "EXPLAIN QUERY PLAN " + statement,
                            params,  # type: ignore[arg-type]
                        )
                    )
                    for statement, params in captured
                ]
            captured.clear()
            return found

        store.page_tasks("z")
        store.page_tasks("z", before_id=3)
        store.page_tasks("z", after_id=1)
        found = plans()
        assert all("ix_tasks_zap_id_id" in plan for plan in found), found
        store.search_tasks("z", "z1")
        found = plans()
        assert all("ix_tasks_record_key" in plan for plan in found), found
