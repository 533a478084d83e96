"""Throughput: a Salesforce backlog of N new contacts into CleverTap, against the raw floor.

For each size N (``--sizes``, default 10,000 and 100,000), with both emulators in their
own processes:

1. **engine**: ``zaplite run --once`` of the new-contact zap (``start: "all"``, a fresh
   SQLite store) in a child process: wall time, user+sys CPU, peak RSS, requests.
2. **raw floor**: ``bench/raw_floor.py`` (httpx alone) making the same Salesforce page
   requests and 1,000-record CleverTap uploads, in its own child process.
3. **per-record**: the same zap with the CleverTap connection's ``batch_size = 1``
   (one upload per record, as Zapier and n8n deliver), once with the 15 uploads in
   flight that the connection allows and once one at a time (``max_concurrency = 1``,
   as a per-item workflow step sends them). Measured up to ``--per-record-max``
   records (10,000) and extrapolated linearly above it, marked ``*``.

Each run gets a fresh CleverTap emulator; the Salesforce data is the same for all three.
With ``--repeat R`` the engine and the floor take turns, R runs each, so both meet the
machine in the same state; the tables show each one's fastest run, and a line gives the
engine/floor ratio of every turn.
``python bench/throughput.py [--sizes 10000,100000] [--per-record-max 10000] [--repeat 3]``
``[--ct-latency 0.05]`` adds a round trip to every CleverTap upload (loopback has none).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import (
    ACCOUNT_ID,
    PASSCODE,
    REPO,
    Emulator,
    Measured,
    contact_zap,
    emulator,
    load_contacts,
    run_measured,
    table,
    write_project,
)

__all__ = ["main", "measure_size"]

LABELS = {
    "engine": "zaplite engine",
    "raw": "raw floor",
    "per_record": "per-record",
    "sequential": "per-record, 1 at a time",
}

ZAP_ID = "new-contact-to-profile"


def _zaplite() -> list[str]:
    return [sys.executable, "-m", "zaplite"]


def _run_zap(
    folder: Path, sf: Emulator, ct: Emulator, clevertap: dict[str, Any] | None = None
) -> Measured:
    write_project(folder, sf, ct, [contact_zap(ZAP_ID)], clevertap=clevertap)
    measured = run_measured([*_zaplite(), "run", "--once", ZAP_ID], cwd=folder)
    if measured.returncode != 0:
        raise RuntimeError(f"zaplite run --once failed: {measured.stderr[-2000:]}")
    return measured


def _run_raw(folder: Path, sf: Emulator, ct: Emulator, **_: Any) -> Measured:
    folder.mkdir(parents=True, exist_ok=True)
    creds = sf.get("/__admin/credentials")
    env = {
        "BENCH_SF_CLIENT_ID": creds["client_id"],
        "BENCH_SF_CLIENT_SECRET": creds["client_secret"],
        "BENCH_SF_REFRESH_TOKEN": creds["refresh_token"],
        "BENCH_CT_ACCOUNT_ID": ACCOUNT_ID,
        "BENCH_CT_PASSCODE": PASSCODE,
    }
    script = str(REPO / "bench" / "raw_floor.py")
    measured = run_measured([sys.executable, script, sf.url, ct.url], cwd=folder, env=env)
    if measured.returncode != 0:
        raise RuntimeError(f"the raw floor failed: {measured.stderr[-2000:]}")
    return measured


def _engine_seconds(stdout: str) -> float | None:
    """The run's own time from ``zaplite run --once`` output (``... in 12.34s``)."""
    found = re.findall(r" in (\d+(?:\.\d+)?)s", stdout)
    return float(found[-1]) if found else None


CT_LATENCY = [0.0]
"""Seconds the CleverTap emulator adds to each upload (``--ct-latency``); 0 on loopback."""


def _one_run(name: str, sf: Emulator, folder: Path, n: int, **kwargs: Any) -> dict[str, Any]:
    """One run of ``name`` on a fresh CleverTap emulator: what it cost and what it sent."""
    with emulator(
        "clevertap",
        "--account-id",
        ACCOUNT_ID,
        "--request-log-limit",
        "1",
        "--latency",
        str(CT_LATENCY[0]),
    ) as ct:
        sf_before = sf.get("/__admin/stats")["request_count"]
        cpu_before = sf.cpu() + ct.cpu()
        run = _run_raw if name == "raw" else _run_zap
        measured = run(folder, sf, ct, **kwargs)
        emulators_cpu = sf.cpu() + ct.cpu() - cpu_before
        sf_after = sf.get("/__admin/stats")["request_count"]
        stats = ct.get("/__admin/stats")
    if stats["profiles"] != n:
        raise RuntimeError(f"{name}: CleverTap holds {stats['profiles']} profiles, not {n}")
    return {
        "wall": measured.wall,
        "cpu": measured.cpu,
        "emulators_cpu": emulators_cpu,
        "rss": measured.peak_rss_mb,
        "sf_requests": sf_after - sf_before,
        "ct_requests": stats["upload_count"],
        "engine_seconds": _engine_seconds(measured.stdout + measured.stderr),
    }


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run's measures, with the largest peak RSS of all runs and every wall.

    The machine is shared and noisy, so the best of a few runs is the fairer number.
    """
    best = dict(min(runs, key=lambda run: run["wall"]))
    best["rss"] = max(run["rss"] for run in runs)
    best["walls"] = [round(run["wall"], 2) for run in runs]
    return best


PER_RECORD: dict[str, dict[str, Any]] = {
    "per_record": {"batch_size": 1},
    "sequential": {"batch_size": 1, "max_concurrency": 1},
}
"""Batching off: one record per upload, 15 uploads in flight (the default) or one at a time."""


def measure_size(
    n: int, work: Path, per_record_max: int, per_record_rate: dict[str, float], repeat: int = 1
) -> dict[str, Any]:
    """Engine, raw floor and per-record delivery of ``n`` contacts."""
    with emulator("salesforce") as sf:
        load_contacts(sf, n)
        row: dict[str, Any] = {"n": n}
        # Engine and floor take turns, so both meet the machine in the same state: its
        # speed drifts within minutes (the same code has run 1.7x slower a few minutes on).
        runs: dict[str, list[dict[str, Any]]] = {"engine": [], "raw": []}
        for _ in range(max(1, repeat)):
            for name, found in runs.items():
                found.append(_one_run(name, sf, work / f"{name}-{n}", n))
        row["engine"], row["raw"] = _best(runs["engine"]), _best(runs["raw"])
        row["turn_ratios"] = [
            round(engine["wall"] / raw["wall"], 2)
            for engine, raw in zip(runs["engine"], runs["raw"], strict=True)
        ]
        row["per_record_extrapolated"] = n > per_record_max
        for name, settings in PER_RECORD.items():
            if n <= per_record_max:
                per = _best(
                    [
                        _one_run(name, sf, work / f"{name}-{n}", n, clevertap=settings)
                        for _ in range(max(1, repeat))
                    ]
                )
                per_record_rate[name] = per["wall"] / n
                row[name] = per
            elif name in per_record_rate:
                row[name] = {"wall": per_record_rate[name] * n, "ct_requests": n}
            else:
                row[name] = None
    return row


def render(rows: list[dict[str, Any]]) -> str:
    """The result tables."""
    detail = []
    for row in rows:
        for name in ("engine", "raw", *PER_RECORD):
            data = row[name]
            if data is None:
                continue
            star = "*" if name in PER_RECORD and row["per_record_extrapolated"] else ""
            detail.append(
                [
                    f"{row['n']:,}",
                    LABELS[name],
                    f"{data['wall']:.2f}{star}",
                    f"{data['cpu']:.2f}" if "cpu" in data else "-",
                    f"{data['emulators_cpu']:.2f}" if "emulators_cpu" in data else "-",
                    f"{data['rss']:.0f}" if "rss" in data else "-",
                    f"{row['n'] / data['wall']:,.0f}{star}",
                    str(data.get("sf_requests", "-")),
                    f"{data['ct_requests']:,}",
                ]
            )
    out = [
        table(
            [
                "records",
                "run",
                "wall s",
                "CPU s",
                "emulators' CPU s",
                "peak RSS MB",
                "records/s",
                "SF requests",
                "CT requests",
            ],
            detail,
        ),
        "",
    ]
    ratios = []
    for row in rows:
        engine, raw = row["engine"], row["raw"]
        star = "*" if row["per_record_extrapolated"] else ""
        ratios.append(
            [
                f"{row['n']:,}",
                f"{engine['wall'] / raw['wall']:.2f}",
                f"{engine['cpu'] / raw['cpu']:.2f}",
                *(
                    f"{row[name]['wall'] / engine['wall']:.1f}{star}" if row[name] else "-"
                    for name in PER_RECORD
                ),
            ]
        )
    out.append(
        table(
            [
                "records",
                "engine/raw wall",
                "engine/raw CPU",
                "per-record/engine wall",
                "1-at-a-time/engine wall",
            ],
            ratios,
        )
    )
    for row in rows:
        if len(row.get("turn_ratios", [])) > 1:
            turns = ", ".join(f"{ratio:.2f}" for ratio in row["turn_ratios"])
            out += ["", f"engine/raw wall at {row['n']:,}, turn by turn: {turns}"]
    if len(rows) > 1:
        big, small = rows[-1], rows[0]
        out += [
            "",
            f"peak RSS at {big['n']:,} / at {small['n']:,}: "
            f"{big['engine']['rss'] / small['engine']['rss']:.2f} "
            f"({big['engine']['rss']:.0f} MB / {small['engine']['rss']:.0f} MB)",
        ]
    if any(row["per_record_extrapolated"] for row in rows):
        out += ["", "* per-record extrapolated linearly from the largest measured size."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure every size, print the tables (and ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated record counts")
    parser.add_argument("--per-record-max", type=int, default=10_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of engine and floor, taking turns (the best of each is shown)",
    )
    parser.add_argument(
        "--ct-latency",
        type=float,
        default=0.0,
        help="seconds the CleverTap emulator adds to each upload (a network round trip)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args(argv)
    CT_LATENCY[0] = args.ct_latency
    sizes = sorted(int(size) for size in args.sizes.split(",") if size.strip())
    rates: dict[str, float] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="zaplite-bench-") as tmp:
        for n in sizes:
            print(f"measuring {n:,} records ...", file=sys.stderr, flush=True)
            rows.append(measure_size(n, Path(tmp), args.per_record_max, rates, args.repeat))
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
