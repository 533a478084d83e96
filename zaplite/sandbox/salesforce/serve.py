"""Running the emulator in its own process: ``python -m zaplite.sandbox.salesforce --port N``."""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence

import uvicorn

from ..server import bound_socket
from .emulator import SalesforceEmulator

__all__ = ["build_emulator", "main", "serve"]


def build_emulator(
    *, seed: bool = False, records: int = 0, latency: float = 0.0, bulk_seconds: float = 0.0
) -> SalesforceEmulator:
    """A new emulator, with the demo data when ``seed`` and ``records`` extra bulk-inserted contacts.

    ``latency`` seconds are added to every API response (a real org answers in hundreds
    of milliseconds); a Bulk API 2.0 query job takes ``bulk_seconds`` to complete.
    """
    emu = SalesforceEmulator()
    emu.latency = latency
    emu.bulk_processing_seconds = bulk_seconds
    if seed:
        emu.seed_demo_data()
    if records:
        rng = random.Random(records)
        batch = 10_000
        for start in range(0, records, batch):
            emu.store.insert_many(  # the store directly: no copies of 100k rows to throw away
                "Contact",
                [
                    {
                        "FirstName": f"Bulk{index}",
                        "LastName": f"Contact{rng.randrange(1_000_000)}",
                        "Email": f"bulk{index}@example.com",
                        "Lead_Status__c": "Prospect",
                    }
                    for index in range(start, min(records, start + batch))
                ],
            )
    return emu


def serve(
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    seed: bool = False,
    records: int = 0,
    latency: float = 0.0,
    bulk_seconds: float = 0.0,
) -> None:
    """Serve a new emulator on ``host:port`` (0: a free port, printed) until interrupted."""
    emu = build_emulator(seed=seed, records=records, latency=latency, bulk_seconds=bulk_seconds)
    sock = bound_socket(host, port)
    port = int(sock.getsockname()[1])
    print(f"Salesforce emulator on http://{host}:{port} (admin API under /__admin/)", flush=True)
    config = uvicorn.Config(
        emu.app, host=host, port=port, log_level="warning", lifespan="off", access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``--host``, ``--port``, ``--seed``, ``--records N``, ``--latency S``, ``--bulk-seconds S``."""
    parser = argparse.ArgumentParser(
        prog="python -m zaplite.sandbox.salesforce", description=__doc__
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8081, help="TCP port (default 8081; 0: any free port)"
    )
    parser.add_argument("--seed", action="store_true", help="add the demo data")
    parser.add_argument("--records", type=int, default=0, help="bulk-insert N extra contacts")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every API response"
    )
    parser.add_argument(
        "--bulk-seconds",
        type=float,
        default=0.0,
        help="seconds a Bulk API 2.0 query job takes to complete",
    )
    args = parser.parse_args(argv)
    try:
        serve(
            args.host,
            args.port,
            seed=args.seed,
            records=args.records,
            latency=args.latency,
            bulk_seconds=args.bulk_seconds,
        )
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(
            f"The emulator could not listen on {args.host}:{args.port}: {exc.strerror}.",
            file=sys.stderr,
        )
        return 1
    return 0
