"""Crash test: `zaplite run` SIGKILLed at random moments while it delivers 20,000 contacts.

Both emulators run in their own processes. The daemon is started and killed again and
again (seeded random kill points: some while it is still starting, most after it has
sent one or two uploads of the current life, i.e. in the middle of a page), then a
final restart runs until everything is delivered. The promise (README, "How it behaves
when things fail"): every record arrives, and at most the page in flight at each kill
arrives twice.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import httpx
import pytest
from zaplite_salesforce import bulk

from tests.reliability.store_reads import committed_tasks, run_statuses, task_keys
from tests.support.processes import (
    Daemon,
    Emulators,
    Processes,
    deliveries,
    load_contacts,
    wait_for,
    write_project,
)

RECORDS = 20_000
KILLS = 12
PAGE = 2_000  # the Salesforce trigger's page (the most a poll yields at once)
UPLOAD = 1_000  # CleverTap records per request
SEED = int(os.environ.get("ZAPLITE_REL_CRASH_SEED", "20260611"))


def _kill_point(
    rng: random.Random, emulators: Emulators, daemon: Daemon, base: int, *, early: bool
) -> tuple[str, float]:
    """Wait for this life's kill moment; returns how it was chosen and when (s since start)."""
    started = time.monotonic()
    if early:  # anywhere early: starting up, signing in, first poll
        time.sleep(rng.uniform(0.1, 1.5))
        return "early", time.monotonic() - started
    target = base + 1 + rng.randrange(0, UPLOAD + UPLOAD // 2)  # one or two uploads in
    late = False

    def reached() -> bool:
        nonlocal late
        if daemon.process.poll() is not None:
            raise AssertionError(f"the daemon exited by itself: {daemon.output()[1]}")
        stats = emulators.ct_stats()
        late = stats["processed"] < target and stats["profiles"] >= RECORDS
        return stats["processed"] >= target or late

    wait_for(reached, timeout=60, interval=0.02, what="the daemon to deliver")
    time.sleep(rng.uniform(0.0, 0.5))  # then somewhere in that page or the next
    return ("after every record arrived once" if late else "mid-delivery"), (
        time.monotonic() - started
    )


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, procs: Processes) -> None:
    """≥10 SIGKILLs mid-delivery, then a restart: all 20,000 delivered, duplicates bounded."""
    _crash_and_restart(tmp_path, procs, {"bulk_threshold": 0})  # REST pages, not Bulk


@pytest.mark.slow
def test_sigkill_on_the_bulk_api_path_loses_nothing(tmp_path: Path, procs: Processes) -> None:
    """The same, with the backlog read by a Bulk API 2.0 query job (bulk_threshold below it).

    Kills fall while the job is made, while its results are read, and after the hand-over
    to REST; a restart resumes from the saved results locator (or makes a job again).
    """
    jobs = _crash_and_restart(
        tmp_path, procs, {"bulk_threshold": RECORDS // 4}, page=bulk.CHECKPOINT
    )
    assert jobs >= 1, "the backlog was read by a query job"


def test_the_run_of_a_killed_daemon_reads_interrupted_once_the_next_daemon_runs_the_zap(
    tmp_path: Path, procs: Processes
) -> None:
    """Not 'running' for ever: the restarted daemon takes the dead one's lease and closes its row."""
    emulators = Emulators.start(procs, ct_latency=0.5)  # three pages of two slow uploads
    load_contacts(emulators.sf_url, 3 * PAGE)
    root = tmp_path / "project"
    write_project(root, emulators, salesforce_settings={"bulk_threshold": 0})
    store = f"sqlite:///{root / 'zaplite.db'}"
    killed = Daemon.start(procs, root, "killed")

    def running() -> list[int]:
        if killed.process.poll() is not None:
            raise AssertionError(f"the daemon exited by itself: {killed.output()[1]}")
        return [run for run, status in run_statuses(store).items() if status == "running"]

    [left] = wait_for(running, timeout=60, interval=0.05, what="a run to record its first page")
    killed.kill()
    assert run_statuses(store)[left] == "running", "killed mid-run"

    restarted = Daemon.start(procs, root, "restarted")
    wait_for(
        lambda: committed_tasks(store) >= 3 * PAGE,
        timeout=120,
        interval=0.25,
        what="the restarted daemon to deliver the rest",
    )
    assert restarted.terminate() == 0, restarted.output()[1]
    statuses = run_statuses(store)
    assert statuses.pop(left) == "interrupted"
    assert "running" not in statuses.values(), statuses


def _crash_and_restart(
    tmp_path: Path,
    procs: Processes,
    salesforce_settings: dict[str, object] | None = None,
    *,
    page: int = PAGE,
) -> int:
    """Run the kill-and-restart scenario (``page``: records per checkpoint); the query jobs."""
    wall = time.monotonic()
    rng = random.Random(SEED)
    emulators = Emulators.start(procs, ct_latency=0.3)  # uploads slow enough to be hit
    emails = load_contacts(emulators.sf_url, RECORDS)
    root = tmp_path / "project"
    write_project(root, emulators, salesforce_settings=salesforce_settings)
    store = f"sqlite:///{root / 'zaplite.db'}"

    in_flight_at_kills: list[int] = []
    excess_before = 0
    for life in range(KILLS):
        base = emulators.ct_settled(timeout=30)
        daemon = Daemon.start(procs, root, f"daemon-{life}")
        how, after = _kill_point(rng, emulators, daemon, base, early=life % 4 == 3)
        daemon.kill()
        processed = emulators.ct_settled(timeout=30)
        committed = committed_tasks(store)
        excess = processed - committed  # accepted by CleverTap but not recorded (yet)
        in_flight_at_kills.append(excess - excess_before)
        excess_before = excess
        print(
            f"kill {life + 1}: {how} after {after:.2f}s; CleverTap processed {processed}, "
            f"store committed {committed}, in flight {in_flight_at_kills[-1]}"
        )

    final = Daemon.start(procs, root, "daemon-final")

    def all_recorded() -> bool:
        if final.process.poll() is not None:
            raise AssertionError(f"the daemon exited by itself: {final.output()[1]}")
        return committed_tasks(store) >= RECORDS

    wait_for(all_recorded, timeout=120, interval=0.25, what="every record to be delivered")
    time.sleep(1.5)  # a few more 1 s polls: nothing more may be sent
    assert final.terminate() == 0, final.output()[1]

    counts = deliveries(emulators.ct_url)
    sent = sum(counts.values())
    duplicates = sent - len(counts)
    bound = page * KILLS
    seconds = time.monotonic() - wall
    print(
        f"crash test: records={RECORDS} kills={KILLS} deliveries={sent} "
        f"duplicates={duplicates} bound={bound} (measured in flight at the kills: "
        f"{sum(in_flight_at_kills)}, largest {max(in_flight_at_kills)}) "
        f"wall={seconds:.1f}s seed={SEED}"
    )

    assert set(counts) == set(emails), "every contact arrives, and nothing else"
    assert emulators.ct_settled(timeout=30) == sent
    assert duplicates <= bound
    assert duplicates <= sum(in_flight_at_kills), "only what was in flight at a kill comes twice"
    assert all(0 <= n <= page for n in in_flight_at_kills), in_flight_at_kills
    keys = task_keys(store)
    assert len(keys) == RECORDS and set(keys.values()) == {1}, "one task per record"
    for life in range(KILLS):
        stderr = (procs.folder / f"daemon-{life}.err").read_text(errors="replace")
        assert "Traceback" not in stderr
    assert "Traceback" not in final.output()[1]
    return int(httpx.get(emulators.sf_url + "/__admin/stats").json()["bulk_query_jobs"])
