"""Concurrency and shutdown: daemons sharing a store, SIGTERM mid-batch, `--once` beside a daemon.

Everything is real: both emulators in their own processes, `zaplite run` subprocesses,
SQLite files (and PostgreSQL when ``ZAPLITE_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.store_reads import committed_tasks
from tests.support.cli import Cli
from tests.support.processes import (
    Daemon,
    Emulators,
    Processes,
    dead_pid,
    deliveries,
    event_zap,
    load_contacts,
    wait_for,
    write_project,
)
from zaplite.engine.leases import owner_for
from zaplite.engine.run import STOP_GRACE, Engine
from zaplite.engine.schedules import schedule_trigger
from zaplite.project.workspace import Workspace

_DELIVERED = re.compile(r"^(\S+): \w+: \d+ new, (\d+) delivered", re.MULTILINE)


def _sqlite_or(store_url: str, root: Path) -> str:
    """The URL to read the store from outside the project folder."""
    return f"sqlite:///{root / 'zaplite.db'}" if store_url.startswith("sqlite") else store_url


def _delivered_by(daemon: Daemon) -> int:
    """How many records a daemon says it delivered (its per-run summary lines)."""
    return sum(int(count) for _zap, count in _DELIVERED.findall(daemon.output()[0]))


@pytest.mark.slow
def test_two_daemons_on_one_store_never_deliver_twice(
    tmp_path: Path, procs: Processes, store_url: str
) -> None:
    """Two `zaplite run` on one store, three zaps, contacts arriving in waves: each sent once.

    Then the daemon that delivered the most stops, and the other takes its zaps over for
    one more wave. Which daemon wins a free lease is a race, so while both run either
    may deliver everything (seen: 10,500 / 0); the hand-over makes sure both delivered
    and that the leases pass from one to the other without a record sent twice.
    """
    emulators = Emulators.start(procs, ct_latency=0.2)  # runs long enough to overlap
    root = tmp_path / "project"
    # Different intervals, so that neither daemon's ticks stay locked just behind the other's.
    schedules = {"zap-a": "0.5s", "zap-b": "0.7s", "zap-c": "1.1s"}
    zap_ids = list(schedules)
    zaps = [event_zap(zap_id, every=every) for zap_id, every in schedules.items()]
    write_project(root, emulators, store_url=store_url, zaps=zaps)
    store = _sqlite_or(store_url, root)
    emails = load_contacts(emulators.sf_url, 1500)
    first = Daemon.start(procs, root, "daemon-a")
    second = Daemon.start(procs, root, "daemon-b")
    waves = 8
    for wave in range(waves):  # new contacts while both daemons poll
        time.sleep(0.6)
        emails += load_contacts(emulators.sf_url, 250, first=1500 + 250 * wave)

    def all_committed(*running: Daemon) -> bool:
        for daemon in running:
            if daemon.process.poll() is not None:
                raise AssertionError(f"{daemon.name} exited: {daemon.output()[1]}")
        return committed_tasks(store) >= len(emails) * len(zap_ids)

    wait_for(
        lambda: all_committed(first, second),
        timeout=120,
        interval=0.25,
        what="every contact to reach every zap",
    )
    time.sleep(2.5)  # more overlapping polls, which must find nothing new
    busy, other = sorted((first, second), key=_delivered_by, reverse=True)
    assert busy.terminate() == 0, busy.output()[1]
    handed_over = load_contacts(emulators.sf_url, 250, first=1500 + 250 * waves)
    emails += handed_over
    wait_for(
        lambda: all_committed(other),
        timeout=120,
        interval=0.25,
        what=f"{other.name} to deliver the last wave once {busy.name} stopped",
    )
    time.sleep(1.0)  # more polls, which must find nothing new
    assert other.terminate() == 0, other.output()[1]
    expected = len(emails) * len(zap_ids)

    counts = deliveries(emulators.ct_url)
    split = (_delivered_by(first), _delivered_by(second))
    print(
        f"two daemons ({store_url.split(':')[0]}): {len(emails)} contacts x {len(zap_ids)} zaps, "
        f"{sum(counts.values())} deliveries, {sum(counts.values()) - len(counts)} duplicates, "
        f"delivered by each daemon {split[0]} / {split[1]}, then {busy.name} stopped"
    )
    assert set(counts) == {f"{z}:{e}" for z in zap_ids for e in emails}
    assert set(counts.values()) == {1}, "no record was sent twice"
    assert committed_tasks(store) == expected
    assert sum(split) == expected
    assert _delivered_by(busy) > 0
    assert _delivered_by(other) >= len(handed_over) * len(zap_ids), "the other took over"


def test_sigterm_during_a_batch_finishes_it_and_exits_0(tmp_path: Path, procs: Processes) -> None:
    """SIGTERM while an upload is in flight: the page is finished and recorded, exit 0."""
    emulators = Emulators.start(procs, ct_latency=2.0)
    root = tmp_path / "project"
    write_project(root, emulators)
    store = _sqlite_or("sqlite", root)
    emails = load_contacts(emulators.sf_url, 3000)  # two pages: 2,000 + 1,000
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: emulators.ct_stats()["in_flight"] > 0, timeout=60, what="an upload in flight")
    assert daemon.terminate(timeout=60) == 0, daemon.output()[1]
    out, err = daemon.output()
    processed = emulators.ct_settled(timeout=60)
    committed = committed_tasks(store)
    print(f"SIGTERM mid-batch: CleverTap processed {processed}, store recorded {committed}")
    assert "zaplite stopped cleanly." in err
    assert "Traceback" not in err
    assert "interrupted" in out
    assert committed == processed == 2000, "the page in flight was finished and recorded"

    emulators.ct_faults(latency=0.0)
    again = Daemon.start(procs, root, "daemon-again")
    wait_for(lambda: committed_tasks(store) >= len(emails), timeout=60, what="the rest")
    assert again.terminate() == 0
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails)
    assert set(counts.values()) == {1}, "nothing lost, nothing sent twice"


def test_sigterm_during_an_outage_does_not_wait_out_the_retries(
    tmp_path: Path, procs: Processes
) -> None:
    """CleverTap answering 503 with a long backoff: SIGTERM ends the retries, exit 0, page kept."""
    emulators = Emulators.start(procs)
    root = tmp_path / "project"
    write_project(root, emulators, retry_initial_wait=30.0, retry_max_wait=600.0)  # 30 s, 60 s...
    store = _sqlite_or("sqlite", root)
    emails = load_contacts(emulators.sf_url, 1500)
    emulators.ct_faults(fail_next={"n": 1000, "status": 503})
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: emulators.ct_stats()["upload_count"] >= 1, timeout=60, what="a 503")
    time.sleep(0.5)  # in the backoff now
    started = time.monotonic()
    code = daemon.terminate(timeout=20)  # far less than the first 30 s backoff
    out, err = daemon.output()
    print(f"SIGTERM in an outage: exit {code} after {time.monotonic() - started:.1f}s")
    assert code == 0, err
    assert "interrupted" in out and "stopped while retrying" in out and "nothing was lost" in out
    assert "Traceback" not in err
    assert committed_tasks(store) == 0, "the page was left unrecorded, not marked failed"

    emulators.ct_faults(reset=True)
    again = Daemon.start(procs, root, "daemon-again")
    wait_for(lambda: committed_tasks(store) >= len(emails), timeout=60, what="delivery")
    assert again.terminate() == 0
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails) and set(counts.values()) == {1}


def test_sigterm_while_clevertap_hangs_exits_within_the_grace_and_loses_nothing(
    tmp_path: Path, procs: Processes
) -> None:
    """CleverTap answering after 60 s (past the 30 s request timeout): SIGTERM ends the run.

    The stop waits for the request in flight at most STOP_GRACE (10 s) and starts no
    retry, well inside systemd's TimeoutStopSec=60; the page is left for the next start,
    which delivers everything (the abandoned page at most twice), one task per record.
    The daemon used to exit about 58 s after SIGTERM, having started a second upload.
    """
    emulators = Emulators.start(procs)
    root = tmp_path / "project"
    write_project(root, emulators)
    store = _sqlite_or("sqlite", root)
    emails = load_contacts(emulators.sf_url, 1500)
    emulators.ct_faults(latency=60.0)
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: emulators.ct_stats()["in_flight"] > 0, timeout=60, what="an upload in flight")
    started = time.monotonic()
    code = daemon.terminate(timeout=STOP_GRACE + 8)  # TimeoutExpired if it waits out CleverTap
    out, err = daemon.output()
    print(f"SIGTERM with CleverTap hanging: exit {code} after {time.monotonic() - started:.1f}s")
    assert code == 0, err
    assert "Traceback" not in err and "stopped cleanly" in err
    assert "interrupted" in out and f"no answer within {STOP_GRACE:g} s" in out, out
    assert committed_tasks(store) == 0, "the page was left unrecorded"
    assert emulators.ct_stats()["upload_count"] <= 2, "no retry was started after the stop"

    emulators.ct_faults(latency=0.0)
    again = Daemon.start(procs, root, "daemon-again")
    wait_for(lambda: committed_tasks(store) >= len(emails), timeout=90, what="delivery")
    assert again.terminate() == 0
    emulators.ct_settled(timeout=90)  # the abandoned upload ends too
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails) and max(counts.values()) <= 2
    assert committed_tasks(store) == len(emails), "one task per record"


def test_run_once_beside_a_running_daemon_waits_its_turn(tmp_path: Path, procs: Processes) -> None:
    """`zaplite run --once` while the daemon delivers: skipped, clearly; nothing sent twice."""
    emulators = Emulators.start(procs, ct_latency=2.0)
    root = tmp_path / "project"
    write_project(root, emulators)
    store = _sqlite_or("sqlite", root)
    emails = load_contacts(emulators.sf_url, 5000)  # three pages, ≥ 6 s of uploads
    daemon = Daemon.start(procs, root, "daemon")
    wait_for(lambda: emulators.ct_stats()["in_flight"] > 0, timeout=60, what="an upload in flight")
    beside = Cli(root)("run", "--once")
    print(f"run --once beside the daemon: exit {beside.returncode}: {beside.stdout.strip()}")
    assert beside.returncode == 0, beside.stderr
    assert "skipped" in beside.stdout and "another daemon is running this zap" in beside.stdout
    assert "Traceback" not in beside.stderr

    emulators.ct_faults(latency=0.0)
    wait_for(lambda: committed_tasks(store) >= len(emails), timeout=60, what="every contact")
    after = Cli(root)("run", "--once")  # may meet the daemon's 1 s poll, or run itself
    assert after.returncode == 0, after.stderr
    assert daemon.terminate() == 0
    counts = deliveries(emulators.ct_url)
    assert set(counts) == set(emails)
    assert set(counts.values()) == {1}


def test_lease_is_renewed_during_a_long_run_and_freed_after(
    tmp_path: Path, procs: Processes
) -> None:
    """A run longer than the lease keeps it (heartbeat); another owner gets it once it ends."""
    # The upload outlasts two lease lengths by 1.5 s, and a heartbeat may be 0.8 s late.
    emulators = Emulators.start(procs, ct_latency=4.0)
    root = tmp_path / "project"
    config = write_project(root, emulators)
    load_contacts(emulators.sf_url, 10)
    workspace = Workspace.load(config)
    try:
        engine = Engine.for_workspace(workspace, owner="daemon-a")
        engine.leases.lease_seconds = 1.2  # far shorter than the 4 s upload
        zap = workspace.zap("new-contacts")
        store = workspace.store

        async def scenario() -> tuple[bool, bool, str]:
            run = asyncio.create_task(engine.run_zap(zap))

            def uploading() -> bool:
                stats = httpx.get(emulators.ct_url + "/__admin/stats", timeout=5).json()
                return bool(stats["in_flight"])

            await asyncio.to_thread(wait_for, uploading, timeout=30, what="the upload")
            await asyncio.sleep(2.5)  # two lease lengths into the upload
            stolen = await asyncio.to_thread(store.acquire_lease, zap.id, "daemon-b", 60)
            result = await run
            await engine.connections.close()
            after = await asyncio.to_thread(store.acquire_lease, zap.id, "daemon-b", 60)
            return stolen, after, result.status

        stolen, after, status = asyncio.run(scenario())
    finally:
        workspace.close()
    assert status == "ok"
    assert not stolen, "the lease was renewed while the run went on"
    assert after, "the lease is released when the run ends"


def test_a_run_that_loses_its_lease_stops_after_the_page_in_flight(
    tmp_path: Path, procs: Processes
) -> None:
    """Another owner takes the lease mid-run: this run records nothing more, and stops.

    The page in flight was sent, but its commit is fenced: the lease is no longer held at
    the generation this run took it at, so the new holder delivers (and records) it.
    """
    # The lease is taken while the first page's upload is in flight: 3 s leave time to
    # see it start and take the lease on a busy machine before that page is recorded.
    emulators = Emulators.start(procs, ct_latency=3.0)
    root = tmp_path / "project"
    config = write_project(root, emulators)
    load_contacts(emulators.sf_url, 5000)  # three pages
    workspace = Workspace.load(config)
    try:
        engine = Engine.for_workspace(workspace, owner="daemon-a")
        engine.leases.lease_seconds = 0.6  # renewed every 0.2 s
        zap = workspace.zap("new-contacts")
        store = workspace.store

        async def scenario() -> Any:
            run = asyncio.create_task(engine.run_zap(zap))

            def uploading() -> bool:
                stats = httpx.get(emulators.ct_url + "/__admin/stats", timeout=5).json()
                return bool(stats["in_flight"])

            await asyncio.to_thread(wait_for, uploading, timeout=30, what="the first upload")
            await asyncio.to_thread(store.release_lease, zap.id, "daemon-a")  # as if expired
            assert await asyncio.to_thread(store.acquire_lease, zap.id, "daemon-b", 60)
            result = await run
            await engine.connections.close()
            return result

        result = asyncio.run(scenario())
        holder = store.lease_holder(zap.id)
    finally:
        workspace.close()
    print(f"lease lost mid-run: {result.line()}")
    assert result.status == "interrupted"
    assert "another daemon took the lease" in (result.message or "")
    assert result.delivered == 0, "the page in flight is not recorded, no more pages polled"
    assert committed_tasks(f"sqlite:///{root / 'zaplite.db'}") == 0
    assert holder == "daemon-b", "the run does not release a lease that is not its own"


def test_a_crashed_holder_on_this_host_is_taken_over_but_a_live_one_is_not(
    tmp_path: Path, emulators: Emulators
) -> None:
    """A lease left by a dead pid of this host is taken at once; live or remote holders wait."""
    import os
    import socket

    root = tmp_path / "project"
    config = write_project(root, emulators)
    load_contacts(emulators.sf_url, 5)
    dead = dead_pid()
    host = socket.gethostname()
    crashed = owner_for(dead, "crashed")
    holders = {
        crashed: "ok",
        owner_for(os.getppid(), "alive"): "skipped",
        f"another-host-{crashed}": "skipped",
        f"{host}:{dead}:1-another-container": "skipped",
    }
    workspace = Workspace.load(config)
    try:
        zap = workspace.zap("new-contacts")
        store = workspace.store
        for holder, expected in holders.items():
            store.release_lease(zap.id, store.lease_holder(zap.id) or "")
            assert store.acquire_lease(zap.id, holder, 3600)
            engine = Engine.for_workspace(workspace, owner="restarted")

            async def once(engine: object = engine) -> str:
                try:
                    return (await engine.run_zap(zap)).status  # type: ignore[attr-defined]
                finally:
                    await engine.connections.close()  # type: ignore[attr-defined]

            assert asyncio.run(once()) == expected, holder
    finally:
        workspace.close()


_RUN_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO zaplite\.engine: (\S+): ")


def _run_times(log: Path, zap_id: str) -> list[float]:
    """When each run of ``zap_id`` ended, from the INFO lines of a shared log file."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        match = _RUN_LINE.match(line)
        if match and match[2] == zap_id:
            moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
            times.append(moment.timestamp())
    return sorted(times)


@pytest.mark.slow
def test_a_busy_zap_polls_once_per_interval_with_one_daemon_then_two(
    tmp_path: Path, procs: Processes
) -> None:
    """No random next tick: with contacts arriving all the time, the 1 s zap runs once a second.

    First one `zaplite run`, then a second one on the same store; every run is logged by
    the daemon that made it, in the shared log file.
    """
    emulators = Emulators.start(procs)
    root = tmp_path / "project"
    config = write_project(root, emulators, zaps=[event_zap("ticker", every="1s")])
    config.write_text(
        config.read_text().replace("[settings]\n", '[settings]\nlog_file = "zaplite.log"\n')
    )
    log = root / "zaplite.log"
    first = Daemon.start(procs, root, "daemon-a")
    count = 0

    def trickle(seconds: float) -> None:
        nonlocal count
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            load_contacts(emulators.sf_url, 3, first=count)
            count += 3
            time.sleep(0.3)

    wait_for(lambda: log.exists() and _run_times(log, "ticker"), timeout=30, what="a first run")
    trickle(6)
    alone = len(_run_times(log, "ticker"))
    second = Daemon.start(procs, root, "daemon-b")
    trickle(8)
    store = f"sqlite:///{root / 'zaplite.db'}"
    wait_for(lambda: committed_tasks(store) >= count, timeout=30, what="every contact")
    assert first.terminate() == 0 and second.terminate() == 0
    times = _run_times(log, "ticker")
    gaps = [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]
    print(f"runs: {alone} alone, {len(times) - alone} with two daemons; gaps {gaps}")
    # At most once a second (below), and on: a run a second at best, fewer on a busy machine.
    assert alone >= 3 and len(times) - alone >= 4, "the zap ran on, alone and with two daemons"
    # A run ends less than its interval after its tick, so each run ends within the
    # interval of the grid that its tick began: two runs of one tick would share one.
    # (A gap between end times would also fail a run that a busy machine made slow.)
    workspace = Workspace.load(config)
    try:
        grid = schedule_trigger(workspace.zap("ticker"))
    finally:
        workspace.close()
    ticks = [math.floor((at - grid.offset) / grid.period) for at in times]
    assert len(set(ticks)) == len(ticks), gaps
    counts = deliveries(emulators.ct_url)
    assert set(counts.values()) == {1} and len(counts) == count
