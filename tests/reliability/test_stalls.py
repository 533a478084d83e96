"""A daemon stalled past its lease (SIGSTOP, as `docker pause` or a VM stall) and resumed.

Everything is real: both emulators and two `zaplite run` processes on one store (SQLite,
and PostgreSQL when ``ZAPLITE_TEST_POSTGRES_URL`` is set). Daemon A is stopped while its
uploads are in flight; CleverTap processes them and drops the connections, so that A,
resumed, would retry. Meanwhile A's lease expires and daemon B delivers everything. The
fencing token must keep A from sending again and from recording its page: no record
arrives three times, and no record has two tasks.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.store_reads import committed_tasks, task_keys
from tests.support.processes import (
    Daemon,
    Emulators,
    Processes,
    contacts_zap,
    deliveries,
    load_contacts,
    wait_for,
    write_project,
)

LEASE_SECONDS = 3
CONTACTS = 2_000  # one Salesforce page, two uploads of 1,000 in flight at once


def _readable(store_url: str, root: Path) -> str:
    return f"sqlite:///{root / 'zaplite.db'}" if store_url.startswith("sqlite") else store_url


@pytest.mark.slow
def test_a_daemon_stalled_past_its_lease_neither_resends_nor_records_its_page(
    tmp_path: Path, procs: Processes, store_url: str
) -> None:
    # Daemon-a is stopped after its uploads are seen in flight and before CleverTap
    # answers them: 3 s leave a busy machine time to do that.
    emulators = Emulators.start(procs, ct_latency=3.0)
    root = tmp_path / "project"
    write_project(
        root,
        emulators,
        store_url=store_url,
        zaps=[contacts_zap("stall", every="0.5s")],
        lease_seconds=LEASE_SECONDS,
    )
    store = _readable(store_url, root)
    emails = load_contacts(emulators.sf_url, CONTACTS)
    # Daemon-a's two uploads are the first: CleverTap processes them, then drops their
    # connections, so that daemon-a, resumed, would retry. (Queued before they are sent:
    # a fault queued while they are in flight may come too late and meet daemon-b's.)
    emulators.ct_faults(drop_next={"n": 2, "after_processing": True})
    first = Daemon.start(procs, root, "daemon-a")
    wait_for(
        lambda: emulators.ct_stats()["in_flight"] >= 2,
        timeout=60,
        interval=0.05,
        what="daemon-a's uploads to be in flight",
    )
    os.kill(first.process.pid, signal.SIGSTOP)
    resumed = False
    try:
        second = Daemon.start(procs, root, "daemon-b")
        wait_for(
            lambda: committed_tasks(store) >= CONTACTS,
            timeout=90,
            interval=0.25,
            what="daemon-b to take the expired lease over and deliver every contact",
        )
        os.kill(first.process.pid, signal.SIGCONT)
        resumed = True
        wait_for(
            lambda: " stall: " in first.output()[0] or "stall:" in first.output()[1],
            timeout=60,
            interval=0.25,
            what="daemon-a's stalled run to end",
        )
        time.sleep(2 * LEASE_SECONDS)  # both daemons poll on, and must find nothing new
        emulators.ct_settled(timeout=30)
    finally:
        if not resumed:
            os.kill(first.process.pid, signal.SIGCONT)
    assert first.terminate() == 0, first.output()[1]
    assert second.terminate() == 0, second.output()[1]

    sent = deliveries(emulators.ct_url, statuses=(200, 0))
    keys = task_keys(store)
    print(
        f"stalled daemon ({store_url.split(':')[0]}): {sum(sent.values())} deliveries of "
        f"{len(emails)} contacts, at most {max(sent.values())} of one; {sum(keys.values())} "
        f"tasks, at most {max(keys.values())} for one record"
    )
    assert set(sent) == set(emails)
    assert max(sent.values()) <= 2, "the page in flight is sent twice at most"
    assert len(keys) == CONTACTS and set(keys.values()) == {1}, "one task per record"
    a_out, a_err = first.output()
    assert "another daemon took the lease" in a_out + a_err
