"""How fast the console's pages are with a big store: 1,000 zaps and 1,000,000 tasks.

Builds a project with ``--zaps`` zap files (the new-contact zap under numbered ids) and
a store holding ``--tasks`` tasks spread over the last 24 hours: half of them in the
first zap (the deep-paging case), the rest shared by the others, 2 % failed and 3 %
filtered, each zap with its runs. Then it serves the console in this process (the code
``zaplite console`` runs) and times each page over real HTTP on loopback, ``--requests``
times, printing the median, 95th percentile and slowest, and the rows each page read.

``python bench/console.py [--zaps 1000] [--tasks 1000000] [--url postgresql+psycopg://...]``

Without ``--url`` the store is a SQLite file in a temporary folder; a PostgreSQL URL
must name an empty database. The target is under 200 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from zaplite.engine.run import Engine
from zaplite.project.workspace import Workspace
from zaplite.store import Store
from zaplite.store.schema import runs, tasks, zap_cursors
from zaplite.web.server import serve

__all__ = ["fill", "main", "write_project"]

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0

CONFIG = """[store]
url = "{url}"

[connections.salesforce]
app = "salesforce"
login_url = "http://127.0.0.1:9"
auth = "refresh_token"
client_id = "bench-client"
client_secret = "bench-secret-value"
refresh_token = "bench-refresh-token"

[connections.clevertap]
app = "clevertap"
account_id = "BENCH"
passcode = "bench-passcode"
endpoint = "http://127.0.0.1:9"
"""


def zap_id(index: int) -> str:
    """The id of the ``index``-th zap."""
    return f"zap-{index:04d}"


def write_project(folder: Path, url: str, zaps: int) -> Path:
    """``zaplite.toml`` and ``zaps`` copies of the new-contact zap; returns the config path."""
    (folder / "zaps").mkdir(parents=True, exist_ok=True)
    config = folder / "zaplite.toml"
    config.write_text(CONFIG.format(url=url))
    template = json.loads((REPO / "zaps" / "new-contact-to-profile.json").read_text())
    for index in range(zaps):
        zap = dict(template, id=zap_id(index), name=f"Bench zap {index}")
        (folder / "zaps" / f"{zap_id(index)}.json").write_text(json.dumps(zap))
    return config


def _task_row(index: int, zap: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    status = "failed" if roll < 0.02 else "filtered" if roll < 0.05 else "success"
    record_id = f"003{index:015d}"
    email = f"bench{index}@example.com"
    step = {
        "id": "profile",
        "status": status if status != "filtered" else "success",
        "input": {"identity": email, "ts": at.isoformat(), "profile": {"Email": email}},
        "output": {"status": "success", "identity": email},
        "error": None,
    }
    return {
        "zap_id": zap,
        "run_id": None,
        "record_key": record_id,
        "record": {"Id": record_id, "Email": email, "CreatedDate": at.isoformat()},
        "status": status,
        "steps": [step],
        "error": "CleverTap refused the record: identity is not valid"
        if status == "failed"
        else None,
        "attempts": 1,
        "created_at": at,
        "updated_at": at,
    }


def fill(store: Store, zaps: int, total: int, *, seed: int = 7) -> None:
    """Write ``total`` tasks over the last 24 hours, runs and cursors for ``zaps`` zaps."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(hours=23, minutes=59)
    span = (now - start).total_seconds()
    big = total // 2
    chunk: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(zap_cursors),
            [{"zap_id": zap_id(i), "cursor": {"n": 1}, "updated_at": now} for i in range(zaps)],
        )
        run_rows = []
        for i in range(zaps):
            for r in range(20):
                at = start + timedelta(seconds=span * (r + 1) / 21)
                run_rows.append(
                    {
                        "zap_id": zap_id(i),
                        "started_at": at,
                        "finished_at": at,
                        "status": "ok",
                        "found": 25,
                        "delivered": 24,
                        "failed": 1,
                        "filtered": 0,
                    }
                )
        connection.execute(sa.insert(runs), run_rows)
    written = 0
    for index in range(total):
        # Task ids grow with time, as they do in a live store.
        at = start + timedelta(seconds=span * index / total)
        owner = zap_id(0) if index % 2 == 0 and big else zap_id(1 + index % max(1, zaps - 1))
        chunk.append(_task_row(index, owner, at, rng))
        if len(chunk) == 20_000 or index == total - 1:
            with store.engine.begin() as connection:
                connection.execute(sa.insert(tasks), chunk)
            written += len(chunk)
            chunk = []
            print(f"  {written:,} tasks written", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    hour = (
        "strftime('%Y-%m-%d %H:00:00.000000', created_at)"
        if store.engine.dialect.name == "sqlite"
        else "date_trunc('hour', created_at)"
    )
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM task_hours")
        connection.exec_driver_sql(
            f"INSERT INTO task_hours (zap_id, hour, status, count) "
            f"SELECT zap_id, {hour}, status, count(*) FROM tasks GROUP BY zap_id, {hour}, status"
        )
        if store.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")


class Console:
    """The console of ``config`` served in a thread, as ``zaplite console`` serves it."""

    def __init__(self, config: Path) -> None:
        self.workspace = Workspace.load(config)
        self.engine = Engine.for_workspace(self.workspace)
        self._ready = threading.Event()
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(60)
        self.url: str = self._box["url"]

    def _run(self) -> None:
        async def main() -> None:
            self._box["stop"] = stop = asyncio.Event()
            self._box["loop"] = asyncio.get_running_loop()

            def listening(url: str) -> None:
                self._box["url"] = url
                self._ready.set()

            await serve(
                self.workspace,
                self.engine,
                ("127.0.0.1", 0),
                token=None,
                running=stop.wait(),
                on_listening=listening,
            )
            await self.engine.connections.close()

        asyncio.run(main())

    def close(self) -> None:
        """Stop serving."""
        self._box["loop"].call_soon_threadsafe(self._box["stop"].set)
        self._thread.join(30)
        self.workspace.close()


def _pages(store: Store, zaps: int) -> list[tuple[str, str]]:
    """The pages to time: (what, path)."""
    first = zap_id(0)
    with store.engine.connect() as connection:
        oldest, newest = connection.execute(
            sa.select(sa.func.min(tasks.c.id), sa.func.max(tasks.c.id)).where(
                tasks.c.zap_id == first
            )
        ).one()
        failed = connection.execute(
            sa.select(tasks.c.id, tasks.c.record_key)
            .where(tasks.c.zap_id == first, tasks.c.status == "failed")
            .order_by(tasks.c.id)
            .limit(1)
        ).one()
    middle = zap_id(zaps // 2)
    return [
        ("Zaps, first page (50)", "/"),
        (f"Zaps, after {middle}", f"/?after={middle}"),
        ("Zaps, refresh (table only)", "/#partial"),
        ("A zap: newest tasks", f"/zaps/{first}"),
        ("A zap: deepest page (keyset)", f"/zaps/{first}?before={oldest + 60}"),
        ("A zap: newer page from the deepest", f"/zaps/{first}?after={oldest + 10}"),
        ("A zap: failed tasks", f"/zaps/{first}?status=failed"),
        ("A zap: failed, deep", f"/zaps/{first}?status=failed&before={failed.id + 1000}"),
        ("A zap: search by record id", f"/zaps/{first}?record={failed.record_key}"),
        ("A small zap", f"/zaps/{zap_id(zaps - 1)}"),
        ("A task (with its request preview)", f"/tasks/{newest}"),
        ("Connections", "/connections"),
        ("/metrics", "/metrics"),
        ("/healthz", "/healthz"),
    ]


def measure(console: Console, pages: list[tuple[str, str]], requests: int) -> list[dict[str, Any]]:
    """Each page's timings over HTTP: median, p95 and slowest in milliseconds."""
    results = []
    with httpx.Client(base_url=console.url, timeout=60) as client:
        for what, path in pages:
            headers = {}
            if path.endswith("#partial"):
                path, headers = path[: -len("#partial")], {"X-Zaplite-Partial": "1"}
            client.get(path, headers=headers)  # warm: templates compiled, connections open
            times = []
            size = 0
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
                size = len(response.content)
            times.sort()
            results.append(
                {
                    "page": what,
                    "path": path,
                    "median_ms": statistics.median(times),
                    "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
                    "max_ms": times[-1],
                    "bytes": size,
                }
            )
    return results


def main(argv: list[str] | None = None) -> int:
    """Build the store, serve the console, time the pages, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zaps", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zaplite-console-bench-") as tmp:
        folder = Path(tmp)
        url = args.url or f"sqlite:///{folder / 'zaplite.db'}"
        config = write_project(folder, url, args.zaps)
        started = time.perf_counter()
        with Store(url) as store:
            fill(store, args.zaps, args.tasks)
            pages = _pages(store, args.zaps)
        filled = time.perf_counter() - started
        console = Console(config)
        try:
            results = measure(console, pages, args.requests)
        finally:
            console.close()
    backend = "PostgreSQL" if args.url else "SQLite"
    print(
        f"console pages: {args.zaps:,} zaps, {args.tasks:,} tasks on {backend} "
        f"(filled in {filled:.0f} s), {args.requests} requests each over HTTP"
    )
    print()
    print("| page | median ms | p95 ms | slowest ms | bytes |")
    print("|------|----------:|-------:|-----------:|------:|")
    for row in results:
        print(
            f"| {row['page']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} | "
            f"{row['max_ms']:.1f} | {row['bytes']:,} |"
        )
    worst = max(row["p95_ms"] for row in results)
    print()
    print(f"slowest page's p95: {worst:.1f} ms (target: under {TARGET_MS:.0f} ms)")
    if args.json:
        args.json.write_text(json.dumps({"backend": backend, "pages": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
