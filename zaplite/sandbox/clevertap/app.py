"""The emulator's HTTP face: ``POST /1/upload``, ``GET /1/profile.json``, profile deletion, admin API."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zaplite.sandbox.clevertap.admin import admin_routes
from zaplite.sandbox.clevertap.connection import (
    RawSendMiddleware,
    can_drop,
    drop_connection,
)
from zaplite.sandbox.clevertap.deletion import parse_delete
from zaplite.sandbox.clevertap.responses import (
    error_body,
    unprocessed_entry,
    upload_result,
)
from zaplite.sandbox.clevertap.validation import check_record, skipped

if TYPE_CHECKING:
    from zaplite.sandbox.clevertap.emulator import CleverTapEmulator

__all__ = ["build_app"]

_MALFORMED = object()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(raw: bytes) -> Any:
    """The JSON body (strict: NaN and Infinity are refused), or ``_MALFORMED``."""
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except ValueError:
        return _MALFORMED


def _logged_body(raw: bytes, parsed: Any) -> Any:
    return raw.decode("utf-8", "replace") if parsed is _MALFORMED else parsed


def _json(status: int, body: Any, retry_after: float | str | None = None) -> Response:
    headers = {} if retry_after is None else {"Retry-After": _retry_after_text(retry_after)}
    if isinstance(body, str):
        return Response(body, status_code=status, headers=headers, media_type="text/plain")
    return JSONResponse(body, status_code=status, headers=headers)


def _retry_after_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _authorized(emu: CleverTapEmulator, request: Request) -> bool:
    account = request.headers.get("x-clevertap-account-id", "")
    passcode = request.headers.get("x-clevertap-passcode", "")
    return hmac.compare_digest(account.encode(), emu.account_id.encode()) and hmac.compare_digest(
        passcode.encode(), emu.passcode.encode()
    )


def _process(emu: CleverTapEmulator, body: Any) -> tuple[int, dict[str, Any]]:
    """Validate and store one upload payload; the HTTP status and the response body."""
    if body is _MALFORMED:
        return 400, error_body(400, "Malformed request: the body is not valid JSON.")
    records = body.get("d") if isinstance(body, dict) else None
    if not isinstance(records, list):
        return 400, error_body(
            400, "Malformed request: the body must be a JSON object with a 'd' array of records."
        )
    if len(records) > emu.max_batch:
        return 400, error_body(
            400,
            f"Too many records in the request: {len(records)} sent, "
            f"at most {emu.max_batch} are allowed per request.",
        )
    form = emu.unprocessed_form
    valid: list[dict[str, Any]] = []
    unprocessed: list[dict[str, Any]] = []
    for number, record in enumerate(records, 1):
        problem = check_record(record)
        if problem is None:
            valid.append(record)
            continue
        as_string = form == "string" or (form == "mixed" and len(unprocessed) % 2 == 0)
        code, message = problem
        unprocessed.append(unprocessed_entry(code, skipped(message, number), record, as_string))
    state = emu.state
    state.store(valid, int(time.time()))
    with state.lock:
        state.processed += len(valid)
        state.unprocessed += len(unprocessed)
    result = upload_result(len(valid), unprocessed)
    if result["status"] == "success" and unprocessed:
        result["status"] = emu.partial_status
    return 200, result


def _enter(emu: CleverTapEmulator) -> bool:
    """Count one more request in flight; ``False`` when the concurrency limit is reached."""
    state = emu.state
    with state.lock:
        if state.in_flight >= emu.max_concurrent:
            state.throttled += 1
            return False
        state.in_flight += 1
        state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        return True


def _leave(emu: CleverTapEmulator) -> None:
    state = emu.state
    with state.lock:
        state.in_flight = max(0, state.in_flight - 1)


def _delete_endpoint(emu: CleverTapEmulator) -> Any:
    """``POST /1/delete/profiles.json``: logged, limited and faulted like an upload."""
    return _endpoint(emu, _process_delete, upload=False)


def _process_delete(emu: CleverTapEmulator, body: Any) -> tuple[int, dict[str, Any]]:
    if body is _MALFORMED:
        return 400, error_body(400, "Malformed request: the body is not valid JSON.")
    parsed = parse_delete(body)
    if isinstance(parsed, dict):
        return 400, parsed
    identities, guids = parsed
    emu.state.delete(identities, guids)
    return 200, {"status": "success"}


def _upload_endpoint(emu: CleverTapEmulator) -> Any:
    """``POST /1/upload``."""
    return _endpoint(emu, _process)


def _endpoint(emu: CleverTapEmulator, process: Any, *, upload: bool = True) -> Any:
    """An API endpoint: authorized, limited in concurrency, faulted, logged, then ``process``."""

    async def endpoint(request: Request) -> Response:
        state = emu.state
        if upload:
            with state.lock:
                state.upload_count += 1
        raw = await request.body()
        body = _parse(raw)
        logged = _logged_body(raw, body)

        def answer(status: int, payload: Any, retry_after: float | str | None = None) -> Response:
            state.log_request(request.headers, logged, status)
            return _json(status, payload, retry_after)

        if not _authorized(emu, request):
            return answer(401, error_body(401))
        if not _enter(emu):
            return answer(429, error_body(429), emu.retry_after_429)
        try:
            if emu.latency > 0:
                await asyncio.sleep(emu.latency)
            fault = emu.faults.take()
            if fault is not None and fault.kind == "fail":
                payload = error_body(fault.status) if fault.body is None else fault.body
                return answer(fault.status, payload, fault.retry_after)
            if fault is not None and fault.kind == "drop":
                return await _drop(request, answer)
            status, result = process(emu, body)
            if fault is not None and fault.kind == "drop_after":
                return await _drop(request, answer)
            return answer(status, result)
        finally:
            _leave(emu)

    return endpoint


async def _drop(request: Request, answer: Any) -> Response:
    if not can_drop(request.scope):
        return answer(500, error_body(500, "The emulator's server cannot drop connections."))
    answer(0, None)  # logged as status 0 before the client can see the connection close
    await drop_connection(request.scope)
    return Response(status_code=500)  # sent nowhere: the connection is closed


def _profile_endpoint(emu: CleverTapEmulator) -> Any:
    async def profile(request: Request) -> Response:
        if not _authorized(emu, request):
            return JSONResponse(error_body(401), status_code=401)
        params = request.query_params
        identity, email = params.get("identity"), params.get("email")
        object_id = params.get("objectId")
        if identity is None and email is None and object_id is None:
            return JSONResponse(
                error_body(400, "One of 'identity', 'email' or 'objectId' is required."),
                status_code=400,
            )
        found = emu.state.find_profile(identity=identity, email=email, object_id=object_id)
        if found is None:
            return JSONResponse({"status": "fail", "error": "Profile not found.", "code": 404})
        return JSONResponse({"status": "success", "record": emu.profile_record(found)})

    return profile


def build_app(emu: CleverTapEmulator) -> Any:
    """The ASGI app serving ``emu``: upload, profile read-back and ``/__admin/``."""
    routes = [
        Route("/1/upload", _upload_endpoint(emu), methods=["POST"]),
        Route("/1/profile.json", _profile_endpoint(emu), methods=["GET"]),
        Route("/1/delete/profiles.json", _delete_endpoint(emu), methods=["POST"]),
        *admin_routes(emu),
    ]
    return RawSendMiddleware(Starlette(routes=routes))
