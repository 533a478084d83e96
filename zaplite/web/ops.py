"""The operations endpoints: ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zaplite.web.context import ServerContext

__all__ = ["healthz", "metrics", "readyz"]


async def healthz(request: Request) -> Response:
    """200 while the scheduler loop is alive and the store answers; 503 with the reason otherwise."""
    context: ServerContext = request.app.state.zaplite
    problems = []
    if context.daemon is not None and not context.daemon.alive:
        problems.append("the scheduler is not running")
    store = context.probe.state if context.probe is not None else None
    if store is not None and not store.ok:
        since = int(time.time() - store.since)
        problems.append(f"{store.reason} (for {since} s)")
    body = {
        "status": "ok" if not problems else "unhealthy",
        "scheduler": "none (console only)" if context.daemon is None else "running",
        "store": "ok" if store is None or store.ok else "unreachable",
    }
    if problems:
        body["reason"] = context.redactor("; ".join(problems))
        body["scheduler"] = "stopped" if "scheduler" in body["reason"] else body["scheduler"]
    return JSONResponse(body, status_code=200 if not problems else 503)


async def readyz(request: Request) -> Response:
    """200 once the zaps are loaded and the store is migrated (and, in a daemon, scheduled)."""
    context: ServerContext = request.app.state.zaplite
    if not context.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ready", "zaps": len(context.zaps)})


async def metrics(request: Request) -> Response:
    """This process's metrics in the Prometheus text format."""
    context: ServerContext = request.app.state.zaplite
    return Response(
        generate_latest(context.engine.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
