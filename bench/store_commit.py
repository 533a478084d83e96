"""What recording a page costs the store: ``Store.commit_page`` alone, page after page.

Commits ``--pages`` pages of ``--page-size`` tasks, shaped as the new-contact zap's
tasks are (the Salesforce record, and one CleverTap step with its input and output),
with their dedup keys, into a fresh store, and prints the median and total time per
page. No HTTP and no engine: the number to compare between two versions of the store
(with ``PYTHONPATH=<other tree>``), on SQLite and on PostgreSQL.

``python bench/store_commit.py [--url sqlite:///path.db | postgresql+psycopg://...] [--pages 50]``

Without ``--url`` the store is a SQLite file in a temporary folder. A PostgreSQL URL must
name an empty database: its tables are created and filled.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zaplite.errors import ZapliteError
from zaplite.store import NewTask, Store

__all__ = ["main", "page_of_tasks"]


def page_of_tasks(page: int, size: int) -> list[NewTask]:
    """``size`` tasks as the new-contact zap records them, with keys unique across pages."""
    tasks = []
    for index in range(page * size, (page + 1) * size):
        record_id = f"003{index:015d}"
        email = f"bench{index}@example.com"
        record: dict[str, Any] = {
            "Id": record_id,
            "FirstName": f"Bench{index}",
            "LastName": f"Contact{index}",
            "Email": email,
            "Phone": "+14155550000",
            "CreatedDate": "2026-11-30T04:32:48.716+0000",
            "Lead_Status__c": "Prospect",
        }
        profile = {
            "Name": f"Bench{index} Contact{index}",
            "Email": email,
            "Phone": "+14155550000",
            "Lead Status": "Prospect",
            "Salesforce Contact Id": record_id,
        }
        step = {
            "id": "profile",
            "status": "success",
            "input": {"identity": email, "ts": record["CreatedDate"], "profile": profile},
            "output": {"status": "success", "type": "profile", "identity": email, "ts": 1},
            "error": None,
        }
        tasks.append(NewTask(record_key=record_id, record=record, status="success", steps=[step]))
    return tasks


def measure(url: str, pages: int, size: int) -> list[float]:
    """Seconds each page's ``commit_page`` took, in order."""
    times = []
    with Store(url) as store:
        run = store.start_run("bench")
        for page in range(pages):
            tasks = page_of_tasks(page, size)
            keys = [task.record_key for task in tasks]
            started = time.perf_counter()
            store.commit_page(
                "bench",
                run,
                tasks=tasks,
                cursor={"page": page},
                keys=keys,
                watermark=datetime.now(UTC),
            )
            times.append(time.perf_counter() - started)
    return times


def _positive(text: str) -> int:
    """A whole number of at least 1, for argparse (which names the option if it is not)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, measure, print one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--pages", type=_positive, default=50)
    parser.add_argument("--page-size", type=_positive, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        try:
            times = measure(url, args.pages, args.page_size)
        except ZapliteError as error:
            print(f"store_commit.py: {error}", file=sys.stderr)
            return 2
    backend = url.split(":", 1)[0]
    print(
        f"{backend}: {args.pages} pages of {args.page_size:,} tasks: "
        f"median {statistics.median(times) * 1000:.1f} ms per page, "
        f"total {sum(times):.2f} s ({sum(times) / (args.pages * args.page_size) * 1e6:.1f} µs "
        "per task)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
