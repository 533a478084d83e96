"""Instant delivery: from Salesforce's outbound-message POST to the profile's arrival in CleverTap.

Both emulators run in their own processes and the daemon (``zaplite run`` with
``[http] listen``) in a third, with the instant zap (trigger ``outbound_message``). The
Salesforce emulator is told (admin API) to send an outbound message to the daemon for
each new contact; this script creates contacts one at a time at ``--rate`` per second
for ``--duration`` seconds and watches CleverTap's stored profiles every
``--resolution`` seconds. A contact's latency is the moment its profile was first
seen minus the moment the emulator started the POST that carried it (the first
attempt, as the emulator logs it); creation → arrival is shown beside it. Arrival is
observed by polling, so each latency is late by at most the resolution.

``python bench/instant.py [--duration 30] [--rate 2]``
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from arrivals import one_row_table, options, percentile, watch
from harness import ACCOUNT_ID, REPO, daemon, emulator, write_project

__all__ = ["main", "measure"]

TOKEN = "bench-outbound-token-0123456789"
ZAP = "outbound-contact-to-profile"


def instant_zap() -> dict[str, Any]:
    """The shipped instant zap, with the token written in."""
    zap = json.loads((REPO / "zaps" / f"{ZAP}.json").read_text())
    zap["trigger"]["params"]["token"] = TOKEN
    return zap


def _wait_listening(url: str, process: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the daemon's HTTP server did not come up")
        time.sleep(0.1)


def measure(duration: float, rate: float, resolution: float, work: Path) -> dict[str, Any]:
    """Run the daemon while contacts are created and pushed; each one's latency."""
    from zaplite.sandbox.server import free_port

    with (
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
    ):
        folder = write_project(work / "instant", sf, ct, [instant_zap()], log_file="daemon.log")
        port = free_port()
        with (folder / "zaplite.toml").open("a") as config:
            config.write(f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
        base = f"http://127.0.0.1:{port}"
        with daemon(folder) as process:
            _wait_listening(base, process)
            hook = f"{base}/hooks/salesforce/{ZAP}?token={TOKEN}"
            fields = instant_zap()["trigger"]["params"]["fields"]
            answer = httpx.post(
                f"{sf.url}/__admin/outbound",
                json={"url": hook, "object": "Contact", "fields": fields},
                timeout=30,
            )
            answer.raise_for_status()
            return _observe(sf.url, ct.url, duration, rate, resolution)


def _observe(
    sf_url: str, ct_url: str, duration: float, rate: float, resolution: float
) -> dict[str, Any]:
    seen = watch(
        sf_url, ct_url, duration=duration, rate=rate, resolution=resolution, first=2_000_000
    )
    created, arrived = seen.created, seen.arrived
    stats = httpx.get(f"{sf_url}/__admin/outbound", timeout=30).json()
    posted: dict[str, float] = {}
    for attempt in stats["attempts"]:
        for record_id in attempt["records"]:
            posted.setdefault(record_id, attempt["at"])
    from_post = [
        arrived[email] - posted[record_id]
        for email, (record_id, _at) in created.items()
        if email in arrived and record_id in posted
    ]
    from_creation = [
        arrived[email] - at for email, (_id, at) in created.items() if email in arrived
    ]
    acks = list(stats["acks"].values())
    return {
        "created": len(created),
        "arrived": len(from_post),
        "post_p50": percentile(from_post, 0.50),
        "post_p95": percentile(from_post, 0.95),
        "post_max": max(from_post),
        "created_p95": percentile(from_creation, 0.95),
        "messages": len(stats["attempts"]),
        "acked_once": sum(1 for n in acks if n == 1),
        "acked_more": sum(1 for n in acks if n > 1),
        "resolution": resolution,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure, print the table."""
    args = options(__doc__, argv, resolution=0.02)
    with tempfile.TemporaryDirectory(prefix="zaplite-instant-") as tmp:
        row = measure(args.duration, args.rate, args.resolution, Path(tmp))
    print(
        one_row_table(
            [
                ("trigger", "outbound_message"),
                ("created", row["created"]),
                ("arrived", row["arrived"]),
                ("POST→arrival p50 s", f"{row['post_p50']:.3f}"),
                ("p95 s", f"{row['post_p95']:.3f}"),
                ("max s", f"{row['post_max']:.3f}"),
                ("creation→arrival p95 s", f"{row['created_p95']:.3f}"),
                ("messages", row["messages"]),
                ("acked once", row["acked_once"]),
                ("acked twice+", row["acked_more"]),
                ("observed every", f"{row['resolution'] * 1000:.0f} ms"),
            ]
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
