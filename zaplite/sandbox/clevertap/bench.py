"""Measure the emulator: time per 1,000-record batch, in-process validation and over HTTP.

``python -m zaplite.sandbox.clevertap.bench [--clients 4] [--batches 20] [--url URL]``

Without ``--url`` the emulator is started in a child process on a free loopback port (so
the clients do not share its interpreter) and stopped at the end. Prints numbers only;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from zaplite.sandbox.clevertap.validation import check_record
from zaplite.sandbox.server import free_port

__all__ = ["main", "make_batch"]

_ACCOUNT = "BENCH-ACCOUNT"
_PASSCODE = "BENCH-PASSCODE"


def make_batch(size: int = 1000, offset: int = 0, invalid_every: int = 0) -> list[dict[str, Any]]:
    """``size`` realistic records, profiles and events alternating; every n-th one invalid."""
    batch: list[dict[str, Any]] = []
    for i in range(offset, offset + size):
        if i % 2:
            record: dict[str, Any] = {
                "identity": f"user{i}@example.com",
                "ts": 1468308340 + i,
                "type": "profile",
                "profileData": {
                    "Name": f"User {i}",
                    "Email": f"user{i}@example.com",
                    "Phone": "+14155551234",
                    "Gender": "F",
                    "Lead Status": "Qualified",
                    "Created": "$D_1468308340",
                },
            }
        else:
            record = {
                "identity": f"user{i}@example.com",
                "ts": 1468208340 + i,
                "type": "event",
                "evtName": "Deal Closed",
                "evtData": {"Amount": i, "Currency": "USD", "Close Date": "$D_1468322268"},
            }
        if invalid_every and i % invalid_every == 0:
            record["ts"] = 0
        batch.append(record)
    return batch


def _validation_ms(batch: list[dict[str, Any]], rounds: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for record in batch:
            check_record(record)
    return (time.perf_counter() - start) / rounds * 1000


@contextmanager
def _child_emulator() -> Iterator[str]:
    port = free_port()
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, CLEVERTAP_PASSCODE=_PASSCODE)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "zaplite.sandbox.clevertap", "--port", str(port)]
    command += ["--account-id", _ACCOUNT, "--request-log-limit", "100", "--max-concurrent", "64"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/__admin/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def _client(url: str, n: int, batches: list[bytes], times: list[float]) -> None:
    headers = {
        "X-CleverTap-Account-Id": _ACCOUNT,
        "X-CleverTap-Passcode": _PASSCODE,
        "Content-Type": "application/json; charset=utf-8",
    }
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:
        for body in batches[:n]:
            start = time.perf_counter()
            response = await http.post("/1/upload", content=body)
            times.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"upload answered {response.status_code}: {response.text[:200]}")


async def _http_run(url: str, clients: int, batches: int, invalid_every: int) -> list[float]:
    bodies = [
        json.dumps({"d": make_batch(1000, k * 1000, invalid_every)}).encode()
        for k in range(batches)
    ]
    times: list[float] = []
    await asyncio.gather(*(_client(url, batches, bodies, times) for _ in range(clients)))
    return times


def _report(label: str, times: list[float], wall: float) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(
        f"{label}: {len(ms)} batches of 1,000 in {wall:.2f} s; per batch "
        f"mean {statistics.fmean(ms):.1f} ms, median {statistics.median(ms):.1f} ms, "
        f"p95 {p95:.1f} ms; {len(ms) * 1000 / wall:,.0f} records/s"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(prog="python -m zaplite.sandbox.clevertap.bench")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--batches", type=int, default=20, help="batches per client")
    parser.add_argument("--invalid-every", type=int, default=50, help="every n-th record invalid")
    parser.add_argument("--url", help="an emulator already running (its account must match)")
    args = parser.parse_args(argv)

    batch = make_batch(1000, 0, args.invalid_every)
    print(f"validation only: {_validation_ms(batch):.2f} ms per 1,000-record batch")
    for clients in sorted({1, args.clients}):
        if args.url:
            url_cm: Any = _nullcontext(args.url)
        else:
            url_cm = _child_emulator()
        with url_cm as url:
            start = time.perf_counter()
            times = asyncio.run(_http_run(url, clients, args.batches, args.invalid_every))
            _report(f"HTTP, {clients} client(s)", times, time.perf_counter() - start)


@contextmanager
def _nullcontext(value: str) -> Iterator[str]:
    yield value


if __name__ == "__main__":
    main()
