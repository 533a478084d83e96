"""Idle cost of the daemon: 1,000 zaps on 30-second schedules with nothing new to deliver.

Two kinds of zap, each in its own run of ``zaplite run`` (the daemon, in a child process):

- ``salesforce``: the real new-contact trigger against the Salesforce emulator (its own
  process) with no contacts at all. Every tick of every zap makes a real SOQL query
  over HTTP and records its run in the SQLite store: what an idle deployment costs.
- ``trivial``: a trigger that returns at once (``bench/plugins/idle_app.py``), so what
  is left is the scheduler and the store's run bookkeeping alone.

Measured: start-up (spawn to "zaplite is running", and to every zap's first run
recorded), then the daemon's CPU over ``--window`` seconds as % of one core, the runs
it made in that window, its CPU per run (the figure to compare: how many runs fall in
the window depends on where the jittered ticks land), and the emulator's CPU (not
counted against zaplite).

``python bench/scheduler_idle.py [--zaps 1000] [--every 30] [--window 60] [--kinds salesforce,trivial]``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import (
    ACCOUNT_ID,
    REPO,
    Emulator,
    contact_zap,
    daemon,
    emulator,
    process_cpu,
    table,
    write_project,
)

__all__ = ["main", "measure"]


def _zaps(kind: str, count: int, every: int) -> list[dict[str, Any]]:
    if kind == "salesforce":
        return [contact_zap(f"idle-{n:04d}", every=f"{every}s", start="now") for n in range(count)]
    return [
        {
            "id": f"idle-{n:04d}",
            "schedule": {"every": f"{every}s"},
            "trigger": {"app": "idle", "event": "nothing"},
            "steps": [{"id": "noop", "app": "idle", "action": "noop", "params": {}}],
        }
        for n in range(count)
    ]


def _finished_zaps(log: Path, since: int = 0) -> tuple[int, int]:
    """(zaps with a finished run, runs finished) in the daemon's log after byte ``since``.

    The daemon's log file (``[settings] log_file``) has one INFO line per finished run
    (idle polls are neither printed nor stored).
    """
    if not log.exists():
        return 0, 0
    lines = re.findall(rb" ([\w-]+): (?:ok|failed|interrupted|paused): ", log.read_bytes()[since:])
    return len(set(lines)), len(lines)


def _wait(condition: Any, timeout: float, what: str, process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited while waiting for {what}")
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        time.sleep(0.05)
    return time.perf_counter()


def measure(kind: str, count: int, every: int, window: float, work: Path) -> dict[str, Any]:
    """Start the daemon over ``count`` zaps of ``kind``; start-up times and idle CPU."""
    with (
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
    ):
        # A daemon as deployed: quiet output, every run logged to its log file.
        folder = write_project(
            work / kind, sf, ct, _zaps(kind, count, every), log_file="daemon.log"
        )
        if kind == "trivial":
            with (folder / "zaplite.toml").open("a") as config:
                config.write('\n[connections.idle]\napp = "idle"\n')
        return _run_daemon(kind, folder, sf, count, every, window)


def _run_daemon(
    kind: str, folder: Path, sf: Emulator, count: int, every: int, window: float
) -> dict[str, Any]:
    log_path = folder / "daemon.log"
    err_path = folder / "daemon.err"
    started = time.perf_counter()
    with daemon(
        folder, env={"ZAPLITE_PLUGINS_DIR": str(REPO / "bench" / "plugins")}, stop_timeout=60
    ) as process:
        ready = _wait(
            lambda: b"zaplite is running" in err_path.read_bytes(), 120, "start-up", process
        )
        first = _wait(
            lambda: _finished_zaps(log_path)[0] >= count,
            max(120.0, every * 4),
            "first run of every zap",
            process,
        )
        # Start the window on a tick boundary's quiet side: just after the first round.
        sf_before = sf.get("/__admin/stats")["request_count"]
        sf_cpu_before = sf.cpu()
        window_start = log_path.stat().st_size
        cpu_before = process_cpu(process.pid)
        time.sleep(window)
        cpu_used = process_cpu(process.pid) - cpu_before
        sf_cpu = sf.cpu() - sf_cpu_before
        sf_requests = sf.get("/__admin/stats")["request_count"] - sf_before
        _, runs = _finished_zaps(log_path, window_start)
        rss_kb = _rss_kb(process.pid)
    return {
        "kind": kind,
        "zaps": count,
        "every": every,
        "ready": ready - started,
        "first_round": first - started,
        "window": window,
        "cpu_percent": cpu_used / window * 100,
        "runs": runs,
        "cpu_ms_per_run": cpu_used / runs * 1000 if runs else float("nan"),
        "sf_requests": sf_requests,
        "sf_cpu_percent": sf_cpu / window * 100,
        "rss_mb": rss_kb / 1024,
        "exit": process.returncode,
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def render(rows: list[dict[str, Any]]) -> str:
    """The result table."""
    return table(
        [
            "trigger",
            "zaps",
            "every",
            "ready s",
            "all polled once s",
            "window s",
            "daemon CPU % of a core",
            "runs in window",
            "CPU ms per run",
            "SF requests",
            "SF emulator CPU %",
            "RSS MB",
        ],
        [
            [
                row["kind"],
                f"{row['zaps']:,}",
                f"{row['every']} s",
                f"{row['ready']:.1f}",
                f"{row['first_round']:.1f}",
                f"{row['window']:g}",
                f"{row['cpu_percent']:.1f}",
                f"{row['runs']:,}",
                f"{row['cpu_ms_per_run']:.2f}",
                f"{row['sf_requests']:,}",
                f"{row['sf_cpu_percent']:.1f}",
                f"{row['rss_mb']:.0f}",
            ]
            for row in rows
        ],
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure each kind, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zaps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=30, help="seconds between a zap's polls")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of idle measured")
    parser.add_argument("--kinds", default="salesforce,trivial")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="zaplite-idle-") as tmp:
        for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
            print(f"measuring {args.zaps:,} {kind} zaps ...", file=sys.stderr, flush=True)
            rows.append(measure(kind, args.zaps, args.every, args.window, Path(tmp)))
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
