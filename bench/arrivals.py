"""Shared parts of the two latency benchmarks (``latency.py``, ``instant.py``).

Both create contacts in the Salesforce emulator at a steady rate and watch CleverTap's
stored profiles for their arrival; they differ in how the daemon learns of a contact
(a schedule, or an outbound message) and in what they put in their one-row table.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from harness import contact, table

__all__ = ["Arrivals", "created_at", "one_row_table", "options", "percentile", "watch"]


def options(doc: str, argv: list[str] | None, *, resolution: float) -> argparse.Namespace:
    """``--duration``, ``--rate`` and ``--resolution`` (default ``resolution``) from ``argv``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of record creation")
    parser.add_argument("--rate", type=float, default=2.0, help="contacts created per second")
    parser.add_argument(
        "--resolution", type=float, default=resolution, help="seconds between looks"
    )
    return parser.parse_args(argv)


def one_row_table(columns: Sequence[tuple[str, Any]]) -> str:
    """A Markdown table of one row, from ``(header, cell)`` pairs."""
    return table([header for header, _ in columns], [[cell for _, cell in columns]])


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def created_at(stamp: str) -> float:
    """Salesforce's ``2026-05-08T21:20:00.123+0000`` as epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass
class Arrivals:
    """What one watch saw: each created contact's Id and CreatedDate, and its profile's arrival.

    Both are keyed by the contact's email; times are epoch seconds.
    """

    created: dict[str, tuple[str, float]]
    arrived: dict[str, float]


def _create(
    sf_url: str,
    rate: float,
    duration: float,
    first: int,
    created: dict[str, tuple[str, float]],
) -> None:
    """Create contacts at ``rate`` per second; note each one's Id and CreatedDate by email."""
    interval = 1.0 / rate
    with httpx.Client(base_url=sf_url, timeout=30) as client:
        started = time.monotonic()
        index = 0
        while time.monotonic() - started < duration:
            body = contact(first + index)
            response = client.post("/__admin/records/Contact", json=body)
            response.raise_for_status()
            row = response.json()
            created[body["Email"]] = (row["Id"], created_at(row["CreatedDate"]))
            index += 1
            time.sleep(max(0.0, started + index * interval - time.monotonic()))


def watch(
    sf_url: str, ct_url: str, *, duration: float, rate: float, resolution: float, first: int
) -> Arrivals:
    """Create contacts (numbered from ``first``) while CleverTap's profiles are looked at.

    Looks every ``resolution`` seconds until every created contact has arrived, or 30 s
    after the last was created; a profile's arrival is the first look that saw it.
    """
    created: dict[str, tuple[str, float]] = {}
    arrived: dict[str, float] = {}
    creator = threading.Thread(target=_create, args=(sf_url, rate, duration, first, created))
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
    return Arrivals(created, arrived)
