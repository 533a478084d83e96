"""Serve the emulator: ``python -m zaplite.sandbox.clevertap --port N [--account-id X]``."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from zaplite.sandbox.clevertap.emulator import CleverTapEmulator
from zaplite.sandbox.clevertap.responses import UNPROCESSED_FORMS
from zaplite.sandbox.server import bound_socket

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zaplite.sandbox.clevertap",
        description="Serve a local emulator of CleverTap's Upload API on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8082, help="port to listen on (0: any free port)"
    )
    parser.add_argument("--account-id", default="TEST-ZAP-LITE", help="the accepted account id")
    parser.add_argument(
        "--passcode",
        default=None,
        help="the accepted passcode (default: $CLEVERTAP_PASSCODE, else SANDBOX-PASSCODE)",
    )
    parser.add_argument("--unprocessed-form", choices=UNPROCESSED_FORMS, default="string")
    parser.add_argument("--max-concurrent", type=int, default=15)
    parser.add_argument("--max-batch", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each upload")
    parser.add_argument(
        "--request-log-limit",
        type=int,
        default=10_000,
        help="keep at most this many upload requests in the log (0: no limit)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until interrupted."""
    args = _parser().parse_args(argv)
    passcode = args.passcode or os.environ.get("CLEVERTAP_PASSCODE") or "SANDBOX-PASSCODE"
    emu = CleverTapEmulator(
        args.account_id,
        passcode,
        unprocessed_form=args.unprocessed_form,
        max_concurrent=args.max_concurrent,
        max_batch=args.max_batch,
        latency=args.latency,
        request_log_limit=args.request_log_limit or None,
    )
    try:
        sock = bound_socket(args.host, args.port)
    except OSError as error:
        print(
            f"The emulator could not listen on {args.host}:{args.port}: {error.strerror}.",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    port = int(sock.getsockname()[1])
    print(
        f"CleverTap emulator on http://{args.host}:{port} (account {args.account_id})", flush=True
    )
    config = uvicorn.Config(
        emu.app,
        host=args.host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=2048,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
