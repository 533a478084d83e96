"""commit_page and its readers: tasks, dedup keys, cursor, trigger state, run counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from zaplite.store import KeysFull, NewTask, Store, schema
from zaplite.store import pages as pages_module

T0 = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)


def _task(key: str, status: str = "success", **record: object) -> NewTask:
    return NewTask(
        record_key=key,
        record={"Id": key, **record},
        status=status,
        steps=[{"id": "s1", "status": status, "input": {"x": 1}, "output": None, "error": None}],
        error="boom" if status == "failed" else None,
    )


def test_commit_page_stores_tasks_keys_cursor_and_returns_ids_in_order(store: Store) -> None:
    run = store.start_run("z")
    new = [_task(f"r{i}", Name=f"n{i}") for i in range(5)]
    ids = store.commit_page(
        "z",
        run,
        tasks=new,
        cursor={"ts": "2026-01-08T12:00:00Z", "id": "r4"},
        keys=[t.record_key for t in new],
        watermark=T0,
    )
    assert len(ids) == 5 and ids == sorted(ids) and len(set(ids)) == 5
    for task_id, task in zip(ids, new, strict=True):
        stored = store.get_task(task_id)
        assert stored is not None
        assert stored.record_key == task.record_key
        assert stored.record == task.record
        assert stored.steps == task.steps
        assert stored.run_id == run and stored.zap_id == "z" and stored.attempts == 1
        assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(
            0
        )
    assert store.get_cursor("z") == {"ts": "2026-01-08T12:00:00Z", "id": "r4"}
    assert store.known_keys("z", ["r0", "r4", "other"]) == {"r0", "r4"}
    assert store.known_keys("another-zap", ["r0"]) == set()


def test_cursor_of_unknown_zap_is_none_and_cursor_may_be_any_json(store: Store) -> None:
    assert store.get_cursor("z") is None
    for cursor in (["a", 1, None, {"b": [True]}], "plain", 42, {"unicode": "é✓"}):
        store.commit_page("z", None, tasks=[], cursor=cursor, keys=[])
        assert store.get_cursor("z") == cursor


def test_save_cursor_false_keeps_the_old_cursor(store: Store) -> None:
    store.commit_page("z", None, tasks=[], cursor=1, keys=[])
    store.commit_page("z", None, tasks=[_task("a")], cursor=2, keys=["a"], save_cursor=False)
    assert store.get_cursor("z") == 1
    assert store.known_keys("z", ["a"]) == {"a"}


def test_commit_page_is_all_or_nothing(store: Store) -> None:
    run = store.start_run("z")
    store.commit_page(
        "z", run, tasks=[_task("a")], cursor="c1", keys=["a"], watermark=T0, state={"s": 1}
    )
    with pytest.raises(ValueError, match="JSON"):
        store.commit_page(
            "z",
            run,
            tasks=[_task("b"), _task("c", "failed")],
            cursor="c2",
            keys=["b", "c"],
            watermark=T0 + timedelta(hours=1),
            forget_before=T0 + timedelta(minutes=30),
            state={"s": 2, "bad": object()},  # not JSON: fails after tasks and keys went in
        )
    assert store.get_cursor("z") == "c1"
    assert store.known_keys("z", ["a", "b", "c"]) == {"a"}
    assert store.get_state("z", ["s", "bad"]) == {"s": 1}
    assert [t.record_key for t in store.list_tasks(zap_id="z")] == ["a"]
    (stored_run,) = store.list_runs("z")
    assert (stored_run.found, stored_run.delivered, stored_run.failed) == (1, 1, 0)
    # the store is still usable after the failed transaction
    store.commit_page("z", run, tasks=[_task("b")], cursor="c2", keys=["b"])
    assert store.get_cursor("z") == "c2"


def test_a_bad_task_status_is_refused_before_anything_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="status"):
        store.commit_page("z", None, tasks=[_task("a", "weird")], cursor=1, keys=["a"])
    assert store.get_cursor("z") is None


def test_known_keys_are_not_an_error_and_keep_their_first_watermark(store: Store) -> None:
    store.commit_page("z", None, tasks=[], cursor=1, keys=["a", "b", "a"], watermark=T0)
    store.commit_page("z", None, tasks=[], cursor=2, keys=["b", "c"], watermark=T0 + timedelta(1))
    assert store.known_keys("z", ["a", "b", "c", "d"]) == {"a", "b", "c"}
    # "b" kept its first watermark, so it goes with "a" when T0 falls out of the window
    store.commit_page("z", None, tasks=[], cursor=3, keys=[], forget_before=T0 + timedelta(hours=1))
    assert store.known_keys("z", ["a", "b", "c"]) == {"c"}


def test_keys_are_forgotten_by_watermark_only_for_that_zap(store: Store) -> None:
    store.commit_page("z", None, tasks=[], cursor=1, keys=["old"], watermark=T0)
    store.commit_page("y", None, tasks=[], cursor=1, keys=["old"], watermark=T0)
    store.commit_page(
        "z", None, tasks=[], cursor=1, keys=["mid"], watermark=T0 + timedelta(minutes=10)
    )
    store.commit_page(
        "z",
        None,
        tasks=[],
        cursor=2,
        keys=["new"],
        watermark=T0 + timedelta(minutes=20),
        forget_before=T0 + timedelta(minutes=10),
    )
    assert store.known_keys("z", ["old", "mid", "new"]) == {"mid", "new"}
    assert store.known_keys("y", ["old"]) == {"old"}


def test_keys_without_watermarks_are_capped_per_zap_oldest_first_and_said(store_url: str) -> None:
    full: list[KeysFull] = []
    with Store(store_url, max_keys_per_zap=5) as store:
        store.commit_page("z", None, tasks=[], cursor=1, keys=["k1", "k2", "k3"])
        store.commit_page("y", None, tasks=[], cursor=1, keys=["y1", "y2"])
        store.commit_page(
            "z", None, tasks=[], cursor=2, keys=["k4", "k5", "k6", "k7"], on_keys_full=full.append
        )
        known = store.known_keys("z", [f"k{i}" for i in range(1, 8)])
        assert len(known) == 5 and {"k1", "k2"}.isdisjoint(known)
        assert store.known_keys("y", ["y1", "y2"]) == {"y1", "y2"}
    assert full == [KeysFull("z", 7, 5, "trimmed")]


def test_keys_inside_the_look_back_window_are_never_trimmed(store_url: str) -> None:
    full: list[KeysFull] = []
    with Store(store_url, max_keys_per_zap=5) as store:
        keys = [f"k{i}" for i in range(8)]
        store.commit_page("z", None, tasks=[], cursor=1, keys=keys[:4], watermark=T0)
        store.commit_page(
            "z", None, tasks=[], cursor=2, keys=keys[4:], watermark=T0, on_keys_full=full.append
        )
        assert store.known_keys("z", keys) == set(keys)
        assert store.get_cursor("z") == 2
    assert full == [KeysFull("z", 8, 5, "kept")]


def test_a_settled_cursor_is_saved_and_the_keys_forgotten_when_they_are_too_many(
    store_url: str,
) -> None:
    full: list[KeysFull] = []
    with Store(store_url, max_keys_per_zap=5) as store:
        keys = [f"k{i}" for i in range(8)]
        store.commit_page("z", None, tasks=[], cursor="c1", keys=keys[:4], watermark=T0)
        store.commit_page("y", None, tasks=[], cursor="y1", keys=["y1"], watermark=T0)
        store.commit_page(
            "z",
            None,
            tasks=[_task(k) for k in keys[4:]],
            cursor="c2",
            keys=keys[4:],
            watermark=T0,
            settled_cursor="settled",
            on_keys_full=full.append,
        )
        assert store.get_cursor("z") == "settled"
        assert store.known_keys("z", keys) == set()
        assert store.known_keys("y", ["y1"]) == {"y1"}
        assert len(store.list_tasks(zap_id="z")) == 4
        # Under the limit, a settled cursor is not used.
        store.commit_page(
            "z", None, tasks=[], cursor="c3", keys=["n1"], watermark=T0, settled_cursor="s3"
        )
        assert store.get_cursor("z") == "c3" and store.known_keys("z", ["n1"]) == {"n1"}
    assert full == [KeysFull("z", 8, 5, "settled")]


def test_keys_stay_capped_over_many_pages_without_counting_every_page(store_url: str) -> None:
    counts: list[str] = []
    with Store(store_url, max_keys_per_zap=10) as store:

        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "count(" in statement.lower() and "zap_keys" in statement:
                counts.append(statement)

        for page in range(8):
            keys = [f"p{page}k{i}" for i in range(3)]
            store.commit_page("z", None, tasks=[], cursor=page, keys=keys)
        newest = [f"p{page}k{i}" for page in range(8) for i in range(3)][-10:]
        assert store.known_keys("z", newest[-3:]) == set(newest[-3:])
        assert len(store.known_keys("z", [f"p{p}k{i}" for p in range(8) for i in range(3)])) == 10
        # Counted on the first page and whenever the bound passed the cap, not on all 8.
        assert 1 < len(counts) < 8


def test_keys_added_by_another_store_are_counted_once_the_bound_is_stale(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_url, max_keys_per_zap=5) as first, Store(store_url) as second:
        first.commit_page("z", None, tasks=[], cursor=1, keys=["a1"])
        second.commit_page("z", None, tasks=[], cursor=2, keys=[f"b{i}" for i in range(6)])
        monkeypatch.setattr(pages_module, "KEY_COUNT_TTL", 0.0)
        first.commit_page("z", None, tasks=[], cursor=3, keys=["c1"])
        all_keys = ["a1", "c1", *[f"b{i}" for i in range(6)]]
        assert len(first.known_keys("z", all_keys)) == 5


def test_known_keys_and_state_handle_thousands_of_keys(store: Store) -> None:
    keys = [f"003RO{i:013d}" for i in range(2_000)]
    tasks = [_task(k) for k in keys[:1_000]]
    ids = store.commit_page(
        "z",
        None,
        tasks=tasks,
        cursor="c",
        keys=keys,
        watermark=T0,
        state={k: {"StageName": "Prospect"} for k in keys[:1_200]},
    )
    assert len(ids) == 1_000
    probe = [*keys[::2], *(f"new{i}" for i in range(600))]
    assert store.known_keys("z", probe) == set(keys[::2])
    values = store.get_state("z", keys)
    assert len(values) == 1_200 and values[keys[0]] == {"StageName": "Prospect"}
    store.commit_page("z", None, tasks=[], cursor="c", keys=[], state=dict.fromkeys(keys[:700]))
    assert len(store.get_state("z", keys)) == 500


def test_state_is_set_overwritten_and_deleted_by_none(store: Store) -> None:
    assert store.get_state("z", ["a"]) == {}
    store.commit_page(
        "z",
        None,
        tasks=[],
        cursor=1,
        keys=[],
        state={"a": {"Stage": "Prospect"}, "b": [1, 2], "c": "x"},
    )
    store.commit_page(
        "z",
        None,
        tasks=[],
        cursor=2,
        keys=[],
        state={"a": {"Stage": "Qualified"}, "b": None, "missing": None},
    )
    assert store.get_state("z", ["a", "b", "c", "missing"]) == {
        "a": {"Stage": "Qualified"},
        "c": "x",
    }
    assert store.get_state("other", ["a"]) == {}


def test_run_counters_add_up_across_pages(store: Store) -> None:
    run = store.start_run("z")
    store.commit_page(
        "z",
        run,
        tasks=[_task("a"), _task("b", "failed"), _task("c", "filtered")],
        cursor=1,
        keys=["a", "b", "c"],
    )
    store.commit_page("z", run, tasks=[_task("d"), _task("e")], cursor=2, keys=["d", "e"])
    store.commit_page("z", run, tasks=[], cursor=3, keys=[])
    (stored,) = store.list_runs("z")
    assert (stored.found, stored.delivered, stored.failed, stored.filtered) == (5, 3, 1, 1)


def test_reset_zap_forgets_cursor_keys_state_but_not_history(store: Store) -> None:
    run = store.start_run("z")
    store.commit_page("z", run, tasks=[_task("a")], cursor=1, keys=["a"], state={"s": 1})
    store.commit_page("y", None, tasks=[], cursor=9, keys=["a"], state={"s": 2})
    store.reset_zap("z")
    assert store.get_cursor("z") is None
    assert store.known_keys("z", ["a"]) == set()
    assert store.get_state("z", ["s"]) == {}
    assert len(store.list_tasks(zap_id="z")) == 1 and len(store.list_runs("z")) == 1
    assert store.get_cursor("y") == 9 and store.known_keys("y", ["a"]) == {"a"}


def test_the_raw_insert_text_takes_only_the_tables_own_columns() -> None:
    from zaplite.store import bulk

    table = bulk.raw_keys("sqlite")
    assert bulk.sqlite_insert(table, ["zap_id", "key"], positional=True) == (
        'INSERT INTO "zap_keys" ("zap_id", "key") VALUES (?, ?)'
    )
    assert bulk.sqlite_insert(table, ["zap_id"], conflict_ignored_on=("zap_id", "key")) == (
        'INSERT INTO "zap_keys" ("zap_id") VALUES (:zap_id) ON CONFLICT (zap_id, key) DO NOTHING'
    )
    assert bulk.sqlite_insert(table, ["zap_id", "key"], positional=True, rows=2) == (
        'INSERT INTO "zap_keys" ("zap_id", "key") VALUES (?, ?), (?, ?)'
    )
    assert bulk.flat_rows([(1, 2), (3, 4), (5, 6)], 2) == [(1, 2, 3, 4), (5, 6)]
    with pytest.raises(ValueError, match="no column 'nope'"):
        bulk.sqlite_insert(table, ["zap_id", "nope"])
    with pytest.raises(ValueError, match="positional"):
        bulk.sqlite_insert(table, ["zap_id"], rows=2)


def _stored_keys(store: Store, zap_id: str) -> dict[str, datetime | None]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(schema.zap_keys.c.key, schema.zap_keys.c.watermark).where(
                schema.zap_keys.c.zap_id == zap_id
            )
        )
        return {row.key: row.watermark for row in rows}


@pytest.mark.parametrize("keys_match_tasks", [True, False])
def test_a_pages_keys_are_stored_alike_whether_or_not_they_are_its_tasks_keys(
    store: Store, keys_match_tasks: bool
) -> None:
    # The usual page remembers exactly its tasks' keys, which SQLite copies from the
    # rows it has just written; any other set of keys goes in as given. Same result.
    store.commit_page("z", None, tasks=[_task("a")], cursor=1, keys=["a"], watermark=T0)
    store.commit_page("y", None, tasks=[_task("b")], cursor=1, keys=["b"], watermark=T0)
    later = T0 + timedelta(hours=1)
    new = [_task("a"), _task("c"), _task("d", "failed"), _task("e", "filtered")]
    keys = [t.record_key for t in new] if keys_match_tasks else ["a", "c", "d", "e", "x"]
    store.commit_page("z", store.start_run("z"), tasks=new, cursor=2, keys=keys, watermark=later)
    expected = {"a": T0, "c": later, "d": later, "e": later}
    if not keys_match_tasks:
        expected["x"] = later
    assert _stored_keys(store, "z") == expected
    assert _stored_keys(store, "y") == {"b": T0}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(NewTask("nul\x00key", {"Id": 1}, "success", []), id="refused-by-the-driver"),
        pytest.param(NewTask("k", {"Id": "nul\x00"}, "success", []), id="refused-by-the-server"),
    ],
)
def test_a_task_postgresql_refuses_fails_the_page_as_a_statement_would(
    postgres_url: str, bad: NewTask
) -> None:
    # PostgreSQL takes a page's tasks with COPY: a refusal is still SQLAlchemy's error,
    # the whole page is rolled back, and the store goes on working.
    with Store(postgres_url) as store:
        store.commit_page("z", None, tasks=[_task("a")], cursor=1, keys=["a"])
        with pytest.raises(sa.exc.DBAPIError):
            store.commit_page("z", None, tasks=[_task("b"), bad], cursor=2, keys=["b", "k"])
        assert store.get_cursor("z") == 1
        assert [t.record_key for t in store.list_tasks(zap_id="z")] == ["a"]
        assert store.known_keys("z", ["a", "b", "k"]) == {"a"}
        store.commit_page("z", None, tasks=[_task("b")], cursor=2, keys=["b"])
        assert [t.record_key for t in store.list_tasks(zap_id="z")] == ["b", "a"]


@pytest.mark.parametrize("extra", [0, 1, 37])
def test_a_page_of_any_size_is_stored_in_order_with_its_ids(store: Store, extra: int) -> None:
    # SQLite takes a page's tasks many rows per INSERT, and the rest in one more.
    size = 3 * pages_module._ROWS_PER_INSERT + extra
    new = [_task(f"r{i:04d}", "failed" if i % 5 == 0 else "success", n=i) for i in range(size)]
    ids = store.commit_page("z", None, tasks=new, cursor=1, keys=[t.record_key for t in new])
    assert len(ids) == size and ids == sorted(set(ids))
    for task_id, task in zip(ids, new, strict=True):
        stored = store.get_task(task_id)
        assert stored is not None
        assert (stored.record_key, stored.record, stored.status, stored.error) == (
            task.record_key,
            task.record,
            task.status,
            task.error,
        )
    failed = len(new[::5])
    assert store.count_tasks(zap_id="z") == {
        "success": size - failed,
        "failed": failed,
        "filtered": 0,
    }


def test_text_with_tabs_newlines_and_backslashes_round_trips(store: Store) -> None:
    # PostgreSQL takes tasks with COPY, whose text format escapes these characters.
    odd = 'tab\there, line\nbreak, cr\r, back\\slash, \\N, quote", é✓ 😀'
    task = NewTask(
        record_key=odd,
        record={"Note": odd, odd: [odd, {"n": 1.5}]},
        status="failed",
        steps=[{"id": "s1", "status": "failed", "input": {"x": odd}, "output": None, "error": odd}],
        error=odd,
        attempts=3,
    )
    (task_id,) = store.commit_page("z", None, tasks=[task], cursor=1, keys=[odd])
    stored = store.get_task(task_id)
    assert stored is not None
    assert (stored.record_key, stored.record, stored.steps, stored.error, stored.attempts) == (
        odd,
        task.record,
        task.steps,
        odd,
        3,
    )
    assert store.known_keys("z", [odd]) == {odd}
