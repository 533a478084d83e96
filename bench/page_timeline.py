"""Where a page's time goes: the engine's critical path, page by page, for a backlog.

With both emulators in their own processes, loads N new contacts (``--records``,
default 100,000) and runs the new-contact zap once, in a child process that times
the engine's stages with wrappers around them (no sampling profiler: py-spy misses
most samples on this machine). For every page it records when each stage started
and ended, and prints the median milliseconds per page of:

- on the critical path, one after the other: the dedup lookup, mapping and building
  the uploads, waiting for the uploads' answers, the outcomes, recording the page
  (one transaction), and the gap before the next page;
- beside it (overlapped): fetching the next Salesforce page, preparing it ahead.

``python bench/page_timeline.py [--records 100000]``
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import runpy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import (
    ACCOUNT_ID,
    contact_zap,
    emulator,
    load_contacts,
    run_measured,
    table,
    write_project,
)

__all__ = ["main", "stages"]

ZAP_ID = "new-contact-to-profile"

CRITICAL = [
    ("dedup lookup", "known"),
    ("map and build uploads", "build"),
    ("wait for the uploads", "upload"),
    ("outcomes", "outcomes"),
    ("record the page", "commit"),
    ("between pages", "gap"),
]
BESIDE = [("fetch next Salesforce page", "sf"), ("prepare next page ahead", "ahead")]


# --------------------------------------------------------------------------- the child


def _instrument(events: list[tuple[str, float, float]]) -> None:
    """Wrap the engine's stages so that each call appends (label, start, end)."""
    import zaplite_clevertap.upload as upload
    import zaplite_salesforce.connection as salesforce

    from zaplite.engine import delivery
    from zaplite.engine import run as engine
    from zaplite.store.store import Store

    def wrap(owner: Any, name: str, label: str) -> None:
        function: Callable[..., Any] = getattr(owner, name)
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    events.append((label, started, time.perf_counter()))

            setattr(owner, name, timed_async)
        else:

            @functools.wraps(function)
            def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    events.append((label, started, time.perf_counter()))

            setattr(owner, name, timed)

    wrap(Store, "commit_page", "commit")
    wrap(Store, "known_keys", "known")
    wrap(delivery.Delivery, "_prepare_slice", "ahead")
    wrap(engine.Engine, "_deliver_page", "deliver")
    wrap(upload, "_send_chunk", "upload")
    wrap(salesforce.SalesforceClient, "get", "sf")


def _child(out: Path) -> None:
    events: list[tuple[str, float, float]] = []
    _instrument(events)
    sys.argv = ["zaplite", "run", "--once", ZAP_ID]
    try:
        runpy.run_module("zaplite", run_name="__main__")
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    finally:
        out.write_text(json.dumps(events))


# --------------------------------------------------------------------------- the parent


def stages(events: list[tuple[str, float, float]]) -> dict[str, list[float]]:
    """Milliseconds per page of every stage (see the module docstring), from raw events."""
    pages = sorted((s, e) for label, s, e in events if label == "deliver")
    by_label: dict[str, list[tuple[float, float]]] = {}
    for label, start, end in events:
        by_label.setdefault(label, []).append((start, end))
    out: dict[str, list[float]] = {key: [] for _, key in CRITICAL + BESIDE}

    def within(label: str, start: float, end: float) -> list[tuple[float, float]]:
        return sorted((s, e) for s, e in by_label.get(label, []) if start <= s < end)

    for index, (start, end) in enumerate(pages):
        known = within("known", start, end)
        uploads = within("upload", start, end)
        commits = within("commit", start, end)
        if not (known and uploads and commits):
            continue  # a page with nothing new: no upload, nothing to split
        first_up = min(s for s, _ in uploads)
        last_up = max(e for _, e in uploads)
        out["known"].append(known[0][1] - known[0][0])
        out["build"].append(first_up - known[0][1])
        out["upload"].append(last_up - first_up)
        out["outcomes"].append(commits[0][0] - last_up)
        out["commit"].append(commits[0][1] - commits[0][0])
        if index + 1 < len(pages):
            out["gap"].append(pages[index + 1][0] - end)
        out["sf"].extend(e - s for s, e in within("sf", start, end))
        out["ahead"].append(sum(e - s for s, e in within("ahead", start, end)))
    return {key: [1000 * value for value in values] for key, values in out.items()}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def render(per_stage: dict[str, list[float]], records: int, wall: float) -> str:
    """The table of median milliseconds per page, critical path first."""
    rows = []
    path = 0.0
    for name, key in CRITICAL:
        value = _median(per_stage[key])
        path += value
        rows.append([name, "critical path", f"{value:.1f}"])
    rows.append(["sum", "critical path", f"{path:.1f}"])
    for name, key in BESIDE:
        rows.append([name, "beside it", f"{_median(per_stage[key]):.1f}"])
    pages = len(per_stage["commit"])
    return (
        table(["stage", "where", "median ms per page"], rows)
        + f"\n\n{records:,} records, {pages} pages with new records, run wall {wall:.2f} s\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    with (
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
        tempfile.TemporaryDirectory(prefix="zaplite-timeline-") as tmp,
    ):
        load_contacts(sf, args.records)
        folder = Path(tmp) / "project"
        write_project(folder, sf, ct, [contact_zap(ZAP_ID)])
        events_file = Path(tmp) / "events.json"
        measured = run_measured(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(events_file)],
            cwd=folder,
        )
        if measured.returncode != 0:
            raise RuntimeError(f"the instrumented run failed: {measured.stderr[-2000:]}")
        events = [tuple(event) for event in json.loads(events_file.read_text())]
    print(render(stages(events), args.records, measured.wall))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
