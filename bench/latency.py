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

import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from arrivals import one_row_table, options, percentile, watch
from harness import ACCOUNT_ID, contact_zap, daemon, emulator, write_project

__all__ = ["main", "measure"]


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
    seen = watch(
        sf_url, ct_url, duration=duration, rate=rate, resolution=resolution, first=1_000_000
    )
    latencies = [
        seen.arrived[email] - at
        for email, (_id, at) in seen.created.items()
        if email in seen.arrived
    ]
    return {
        "created": len(seen.created),
        "arrived": len(latencies),
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "resolution": resolution,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure, print the table."""
    args = options(__doc__, argv, resolution=0.05)
    with tempfile.TemporaryDirectory(prefix="zaplite-latency-") as tmp:
        row = measure(args.duration, args.rate, args.resolution, Path(tmp))
    print(
        one_row_table(
            [
                ("schedule", "every 1 s"),
                ("created", row["created"]),
                ("arrived", row["arrived"]),
                ("p50 s", f"{row['p50']:.2f}"),
                ("p95 s", f"{row['p95']:.2f}"),
                ("max s", f"{row['max']:.2f}"),
                ("mean s", f"{row['mean']:.2f}"),
                ("observed every", f"{row['resolution'] * 1000:.0f} ms"),
            ]
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
