"""``/__admin/``: inspect and steer an emulator running in another process.

- ``GET /__admin/profiles``, ``GET /__admin/events``: what was stored.
- ``GET /__admin/requests``: the upload log (headers masked, status, record count);
  ``?full=1`` adds the bodies.
- ``GET /__admin/stats``: counters, settings and queued faults.
- ``POST /__admin/faults``: any of ``{"fail_next": {"n", "status", "body", "retry_after"}}``,
  ``{"drop_next": {"n", "after_processing"}}``, ``{"latency": s}``,
  ``{"unprocessed_form": "string"|"object"|"mixed"}``, ``{"max_concurrent": n}``,
  ``{"retry_after_429": s|null}``, ``{"reset": true}`` (applied first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from zaplite.sandbox.clevertap.emulator import CleverTapEmulator

__all__ = ["admin_routes"]


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"status": "fail", "error": message, "code": 400}, status_code=400)


def _summary(entry: dict[str, Any], full: bool) -> dict[str, Any]:
    body = entry["body"]
    records = body.get("d") if isinstance(body, dict) else None
    out: dict[str, Any] = {
        "headers": entry["headers"],
        "status": entry["status"],
        "records": len(records) if isinstance(records, list) else None,
    }
    if full:
        out["body"] = body
    return out


def _apply_faults(emu: CleverTapEmulator, spec: dict[str, Any]) -> None:
    """Apply one ``POST /__admin/faults`` body; raises ``ValueError``/``TypeError`` on bad input."""
    if spec.get("reset"):
        emu.reset()
    if "fail_next" in spec:
        fail = spec["fail_next"]
        emu.fail_next(
            int(fail.get("n", 1)),
            status=int(fail.get("status", 503)),
            body=fail.get("body"),
            retry_after=fail.get("retry_after"),
        )
    if "drop_next" in spec:
        drop = spec["drop_next"]
        emu.drop_next(int(drop.get("n", 1)), after_processing=bool(drop.get("after_processing")))
    if "latency" in spec:
        emu.latency = float(spec["latency"])
    if "unprocessed_form" in spec:
        emu.unprocessed_form = spec["unprocessed_form"]
    if "max_concurrent" in spec:
        emu.max_concurrent = int(spec["max_concurrent"])
    if "retry_after_429" in spec:
        emu.retry_after_429 = spec["retry_after_429"]


def admin_routes(emu: CleverTapEmulator) -> list[Route]:
    """The ``/__admin/`` routes of ``emu`` (no authentication: the emulator is loopback-only)."""

    async def profiles(request: Request) -> JSONResponse:
        with emu.state.lock:
            data = dict(emu.profiles)
        return JSONResponse({"count": len(data), "profiles": data})

    async def events(request: Request) -> JSONResponse:
        with emu.state.lock:
            data = list(emu.events)
        return JSONResponse({"count": len(data), "events": data})

    async def requests(request: Request) -> JSONResponse:
        full = request.query_params.get("full", "") in ("1", "true", "yes")
        with emu.state.lock:
            log = list(emu.requests)
        return JSONResponse({"count": len(log), "requests": [_summary(e, full) for e in log]})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(emu.stats())

    async def faults(request: Request) -> JSONResponse:
        try:
            spec = await request.json()
        except ValueError:
            return _bad("The body must be a JSON object.")
        if not isinstance(spec, dict):
            return _bad("The body must be a JSON object.")
        try:
            _apply_faults(emu, spec)
        except (ValueError, TypeError, AttributeError) as exc:
            return _bad(f"Invalid fault settings: {exc}")
        return JSONResponse({"status": "success", "stats": emu.stats()})

    return [
        Route("/__admin/profiles", profiles, methods=["GET"]),
        Route("/__admin/events", events, methods=["GET"]),
        Route("/__admin/requests", requests, methods=["GET"]),
        Route("/__admin/stats", stats, methods=["GET"]),
        Route("/__admin/faults", faults, methods=["POST"]),
    ]
