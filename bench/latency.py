"""Latency: from a contact's creation in Salesforce to its profile's arrival in CleverTap.

Both emulators run in their own processes and the daemon (``zaplite run``) in a third,
with the new-contact zap on a 1-second schedule. This script creates contacts one at a
time through the Salesforce emulator's admin API at ``--rate`` per second for
``--duration`` seconds, and watches CleverTap's stored profiles every ``--resolution``
seconds. A contact's latency is the moment its profile was first seen minus its
``CreatedDate`` (the emulator's clock, the same machine's). The CleverTap emulator keeps
no receive time per record, so arrival is observed by polling: each latency is late by
at most the resolution (50 ms).

``python bench/latency.py [--duration 30] [--rate 2]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from harness import (
    ACCOUNT_ID,
    contact,
    contact_zap,
    daemon,
    emulator,
    table,
    write_project,
)

__all__ = ["main", "measure", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _created_at(stamp: str) -> float:
    """Salesforce's ``2026-05-08T21:20:00.123+0000`` as epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _create(sf_url: str, rate: float, duration: float, created: dict[str, float]) -> None:
    """Create contacts at ``rate`` per second for ``duration`` seconds; note each CreatedDate."""
    interval = 1.0 / rate
    with httpx.Client(base_url=sf_url, timeout=30) as client:
        started = time.monotonic()
        index = 0
        while time.monotonic() - started < duration:
            body = contact(1_000_000 + index)
            response = client.post("/__admin/records/Contact", json=body)
            response.raise_for_status()
            created[body["Email"]] = _created_at(response.json()["CreatedDate"])
            index += 1
            time.sleep(max(0.0, started + index * interval - time.monotonic()))


def measure(duration: float, rate: float, resolution: float, work: Path) -> dict[str, Any]:
    """Run the daemon while contacts are created; the latency of each one."""
    with (
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
    ):
        zap = contact_zap("latency", every="1s", start="now")
        folder = write_project(work / "latency", sf, ct, [zap], log_file="daemon.log")
        with daemon(folder) as process:
            _wait_first_run(folder / "daemon.log", process)
            return _observe(sf.url, ct.url, duration, rate, resolution)


def _wait_first_run(out: Path, daemon: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not out.exists() or b"latency:" not in out.read_bytes():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the daemon did not report its first run")
        time.sleep(0.05)


def _observe(
    sf_url: str, ct_url: str, duration: float, rate: float, resolution: float
) -> dict[str, Any]:
    created: dict[str, float] = {}
    arrived: dict[str, float] = {}
    creator = threading.Thread(target=_create, args=(sf_url, rate, duration, created))
    creator.start()
    deadline = time.monotonic() + duration + 30
    with httpx.Client(base_url=ct_url, timeout=30) as client:
        while time.monotonic() < deadline:
            seen = time.time()
            profiles = client.get("/__admin/profiles").json()["profiles"]
            for profile in profiles.values():
                email = profile.get("identity")
                if email and email not in arrived:
                    arrived[email] = seen
            if not creator.is_alive() and set(created) <= set(arrived):
                break
            time.sleep(resolution)
    creator.join()
    latencies = [arrived[email] - at for email, at in created.items() if email in arrived]
    return {
        "created": len(created),
        "arrived": len(latencies),
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "resolution": resolution,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of record creation")
    parser.add_argument("--rate", type=float, default=2.0, help="contacts created per second")
    parser.add_argument("--resolution", type=float, default=0.05, help="seconds between looks")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zaplite-latency-") as tmp:
        row = measure(args.duration, args.rate, args.resolution, Path(tmp))
    print(
        table(
            [
                "schedule",
                "created",
                "arrived",
                "p50 s",
                "p95 s",
                "max s",
                "mean s",
                "observed every",
            ],
            [
                [
                    "every 1 s",
                    row["created"],
                    row["arrived"],
                    f"{row['p50']:.2f}",
                    f"{row['p95']:.2f}",
                    f"{row['max']:.2f}",
                    f"{row['mean']:.2f}",
                    f"{row['resolution'] * 1000:.0f} ms",
                ]
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
