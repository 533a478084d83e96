"""A store outage (PostgreSQL restarting, the network to it cut): one line when it starts, one when it ends.

A real `zaplite run` process uses a PostgreSQL store through a loopback TCP proxy the
test cuts (every connection reset, nothing listening) and restores. Contacts created
during the outage are delivered once it is over; the daemon's log says what happened in
two lines, without a traceback.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.reliability.store_reads import committed_tasks, task_keys
from tests.support.processes import (
    Daemon,
    Emulators,
    Processes,
    event_zap,
    load_contacts,
    wait_for,
    write_project,
)
from tests.support.stores import needs_postgres
from tests.support.tcpproxy import tcp_proxy

OUTAGE_SECONDS = 8


@pytest.mark.slow
@pytest.mark.postgres
@needs_postgres
def test_a_store_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    tmp_path: Path, procs: Processes, postgres_url: str
) -> None:
    emulators = Emulators.start(procs)
    url = make_url(postgres_url)
    with tcp_proxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        root = tmp_path / "project"
        zap_ids = ["out-a", "out-b", "out-c"]
        write_project(
            root,
            emulators,
            store_url=proxied,
            zaps=[event_zap(zap_id, every="0.3s") for zap_id in zap_ids],
            lease_seconds=3,
        )
        emails = load_contacts(emulators.sf_url, 50)
        daemon = Daemon.start(procs, root, "daemon")
        wait_for(
            lambda: committed_tasks(postgres_url) >= len(emails) * len(zap_ids),
            timeout=60,
            interval=0.25,
            what="the first contacts to reach every zap",
        )
        proxy.cut()
        time.sleep(OUTAGE_SECONDS / 2)
        emails += load_contacts(emulators.sf_url, 50, first=50)  # created during the outage
        time.sleep(OUTAGE_SECONDS / 2)
        proxy.restore()
        wait_for(
            lambda: committed_tasks(postgres_url) >= len(emails) * len(zap_ids),
            timeout=60,
            interval=0.25,
            what="the contacts created during the outage to be delivered",
        )
        time.sleep(1.5)
        assert daemon.terminate() == 0, daemon.output()[1]
    out, err = daemon.output()
    log = out + err
    lines = log.splitlines()
    said = [line for line in lines if "store" in line]
    print(f"{len(lines)} lines; the store's:\n" + "\n".join(said))
    assert "Traceback" not in log
    down = [
        line for line in lines if re.search(r"the store .*(unreachable|cannot be reached)", line)
    ]
    back = [line for line in lines if "the store answers again" in line]
    assert len(down) == 1, down
    assert len(back) == 1, back
    keys = task_keys(postgres_url)  # the record keys are Salesforce Ids, one task per zap
    assert len(keys) == len(emails) and set(keys.values()) == {len(zap_ids)}
