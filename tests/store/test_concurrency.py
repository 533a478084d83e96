"""Several writers at once: processes and threads sharing one store lose nothing.

On SQLite two processes take turns (busy timeout, BEGIN IMMEDIATE) instead of
failing with "database is locked"; on PostgreSQL they run side by side. Either
way every commit_page returns the ids of exactly its own tasks.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.paths import REPO
from zaplite.store import NewTask, Store

WRITER = """
import json, sys
from tests.support.paths import REPO
from zaplite.store import NewTask, Store
url, name, pages, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
got = {}
with Store(url) as store:
    run = store.start_run(name)
    for page in range(pages):
        keys = [f"{name}-{page}-{i}" for i in range(size)]
        tasks = [NewTask(k, {"Id": k}, "success", []) for k in keys]
        ids = store.commit_page(name, run, tasks=tasks, cursor=page, keys=keys)
        got.update(zip(map(str, ids), keys))
        store.get_cursor(name)
    store.finish_run(run, "ok")
print(json.dumps(got))
"""


def _check(store: Store, got: dict[int, str]) -> None:
    """Every id a writer was given belongs to the task it wrote."""
    stored = {t.id: t.record_key for t in store.list_tasks(limit=100_000)}
    assert len(stored) == len(got)
    assert stored == got


@pytest.mark.parametrize("fresh", [False, True], ids=["existing", "fresh"])
def test_two_processes_write_at_once(store_url: str, fresh: bool) -> None:
    if not fresh:  # else both writers create the schema at once: one waits for the other
        Store(store_url).close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, f"zap{n}", "15", "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(2)
    ]
    got: dict[int, str] = {}
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        got.update({int(k): v for k, v in json.loads(out).items()})
    with Store(store_url) as store:
        _check(store, got)
        for n in range(2):
            (run,) = store.list_runs(f"zap{n}")
            assert (run.status, run.found, run.delivered) == ("ok", 600, 600)
            assert store.get_cursor(f"zap{n}") == 14


def test_threads_share_one_store(store: Store) -> None:
    def write(n: int) -> dict[int, str]:
        mine: dict[int, str] = {}
        for page in range(8):
            keys = [f"t{n}-{page}-{i}" for i in range(25)]
            tasks = [NewTask(k, {"Id": k}, "failed", [], error="x") for k in keys]
            ids = store.commit_page(f"z{n}", None, tasks=tasks, cursor=page, keys=keys)
            mine.update(zip(ids, keys, strict=True))
            assert store.known_keys(f"z{n}", keys) == set(keys)
        return mine

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(write, range(4)))
    got = {k: v for result in results for k, v in result.items()}
    _check(store, got)
    assert store.count_tasks() == {"success": 0, "failed": 800, "filtered": 0}


def test_a_new_store_waits_for_a_process_writing_the_fresh_file(tmp_path: pathlib.Path) -> None:
    """SQLite refuses the switch to WAL at once while another process writes a new file."""
    import sqlite3
    import threading

    path = tmp_path / "store.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # first mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (a)")
    threading.Timer(0.5, lambda: other.execute("ROLLBACK")).start()
    store = Store(f"sqlite:///{path}")  # waits for the rollback instead of giving up
    store.close()
    other.close()
