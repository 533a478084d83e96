"""A huge import sharing one timestamp: delivered once, and the next polls deliver nothing.

N contacts (``--size``, default 1,000,000) are created in the Salesforce emulator with one
``CreatedDate``, as a bulk import makes them; the shipped new-contact zap (``start: "all"``,
a fresh SQLite store, the store's default ``max_keys_per_zap`` of 500,000) then runs
``zaplite run --once`` ``--polls`` times (default 3). Every poll looks back five minutes
over all N records; the dedup keys cannot all be kept, so the engine moves the cursor
past them instead of forgetting keys. The table shows, per poll, what it found and
delivered and what CleverTap processed in total: with no duplicates, ``processed``
stays at N. Exits 1 if any record arrived twice or any was missing.

``python bench/one_timestamp.py [--size 1000000] [--polls 3]``
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from harness import (
    ACCOUNT_ID,
    Emulator,
    contact,
    contact_zap,
    emulator,
    run_measured,
    table,
    write_project,
)

__all__ = ["main"]

ZAP_ID = "import"
TIMESTAMP = "2026-05-08T21:20:00.000Z"


def _load(sf: Emulator, count: int, chunk: int = 10_000) -> None:
    """Create ``count`` contacts, all with the one ``CreatedDate`` :data:`TIMESTAMP`."""
    for first in range(0, count, chunk):
        records = [contact(i) for i in range(first, min(count, first + chunk))]
        sf.post("/__admin/records/Contact", {"records": records, "timestamp": TIMESTAMP})


def _summary(output: str) -> tuple[int, int]:
    """The ``new`` and ``delivered`` counts of the zap's summary line."""
    found = re.findall(rf"{ZAP_ID}: \w+: (\d+) new, (\d+) delivered", output)
    if not found:
        raise RuntimeError(f"no summary line in: {output[-2000:]}")
    new, delivered = found[-1]
    return int(new), int(delivered)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every record arrived exactly once."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--polls", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with (
        tempfile.TemporaryDirectory() as work,
        emulator("salesforce") as sf,
        emulator("clevertap", "--account-id", ACCOUNT_ID, "--request-log-limit", "1") as ct,
    ):
        _load(sf, args.size)
        folder = write_project(Path(work) / "project", sf, ct, [contact_zap(ZAP_ID)])
        for poll in range(1, args.polls + 1):
            measured = run_measured(
                [sys.executable, "-m", "zaplite", "run", "--once", ZAP_ID], cwd=folder
            )
            if measured.returncode != 0:
                raise RuntimeError(f"zaplite run --once failed: {measured.stderr[-2000:]}")
            new, delivered = _summary(measured.stdout + measured.stderr)
            stats = ct.get("/__admin/stats")
            rows.append(
                [
                    poll,
                    f"{new:,}",
                    f"{delivered:,}",
                    f"{stats['processed']:,}",
                    f"{stats['profiles']:,}",
                    f"{measured.wall:.1f}",
                    f"{measured.peak_rss_mb:.0f}",
                ]
            )
    headers = ["poll", "new", "delivered", "CT processed", "CT profiles", "wall s", "RSS MB"]
    print(f"{args.size:,} contacts with one CreatedDate, `zaplite run --once` {args.polls} times\n")
    print(table(headers, rows))
    processed = int(rows[-1][3].replace(",", ""))
    profiles = int(rows[-1][4].replace(",", ""))
    ok = processed == profiles == args.size
    print(f"\nevery record delivered once: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
