"""The ``/__admin/`` HTTP API: the Python API over HTTP, for an emulator in another process.

- ``POST /__admin/records/{Object}``: a JSON list → ``create_many`` (answers ``{"created", "ids"}``),
  a JSON object → ``create`` (answers the record); ``?timestamp=ISO`` back-dates the write. The
  body may also be ``{"records": [...], "timestamp": "..."}``.
- ``PATCH /__admin/records/{Object}/{Id}`` (``?timestamp=``), ``DELETE`` likewise (to the
  recycle bin); ``POST /__admin/records/{Object}/{Id}/undelete`` restores a deleted record.
- ``GET /__admin/records/{Object}``: every record (JSON values, no ``attributes``).
- ``DELETE /__admin/ids/{Id}`` and ``POST /__admin/ids/{Id}/undelete``: the same for a record
  of any object, found by its id; they answer ``{"sobject", "record"}``.
- ``POST /__admin/faults``: any of ``{"expire_tokens": true}``, ``{"fail_next": {"n", "status",
  "body", "path_contains", "headers"}}``, ``{"drop_next": {"n", "path_contains"}}``, ``{"latency": 0.1}``,
  ``{"exhaust_quota": true}``, ``{"set_quota": {"max": 5000, "used": 0}}``,
  ``{"expire_query_locators": true}``, ``{"expire_bulk_jobs": true}``,
  ``{"bulk_processing_seconds": 2.0}``, ``{"reset": true}``, ``{"oauth": {"rotate_refresh_tokens":
  true, "device_interval": 1, "device_seconds": 600}}``.
- ``POST /__admin/outbound`` (``{"url", "object", "fields", "on": "created" |
  "created_or_updated"}``): register an outbound message, sent to ``url`` and retried
  until acknowledged; ``GET /__admin/outbound``: registrations, queue, attempts, acks;
  ``DELETE /__admin/outbound/{id}``; ``POST /__admin/outbound/notifications/{id}/resend``
  sends an acknowledged notification again (as after a lost Ack).
- ``POST /__admin/objects`` (``{"name", "fields", "label"}``), ``POST /__admin/fields``
  (``{"object", "name", "type"}``), ``POST /__admin/seed``.
- ``GET /__admin/stats``, ``GET /__admin/credentials`` (the emulator's own fake credentials).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .data import RecordError
from .schema import SchemaError

if TYPE_CHECKING:
    from datetime import datetime

    from .emulator import SalesforceEmulator

__all__ = ["admin_routes"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def admin_routes(emu: SalesforceEmulator) -> list[Route]:
    """The routes of the admin API for ``emu``."""

    def plain(object_name: str, row: dict[str, Any]) -> dict[str, Any]:
        return emu.store.plain(emu.schema.require(object_name), row)

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        return json.loads(raw) if raw.strip() else None

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except RecordError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            except SchemaError as exc:
                return _error(404 if "not supported" in str(exc) else 400, str(exc))
            except (ValueError, TypeError, KeyError) as exc:
                return _error(400, f"Bad admin request: {exc}")

        return endpoint

    async def records(request: Request) -> Response:
        object_name = request.path_params["sobject"]
        if request.method == "GET":
            return JSONResponse([plain(object_name, row) for row in emu.store.rows(object_name)])
        body = await body_of(request)
        timestamp: str | datetime | None = request.query_params.get("timestamp")
        if isinstance(body, dict) and isinstance(body.get("records"), list):
            timestamp = body.get("timestamp", timestamp)
            body = body["records"]
        if isinstance(body, list):
            rows = emu.store.insert_many(object_name, body, timestamp=timestamp)
            return JSONResponse(
                {"created": len(rows), "ids": [row["Id"] for row in rows]}, status_code=201
            )
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object or a list of JSON objects.")
        row = emu.store.insert(object_name, body, timestamp=timestamp)
        return JSONResponse(plain(object_name, row), status_code=201)

    async def record(request: Request) -> Response:
        object_name = request.path_params["sobject"]
        record_id = request.path_params["record_id"]
        timestamp = request.query_params.get("timestamp")
        if request.method == "DELETE":
            row = emu.store.delete(object_name, record_id, timestamp=timestamp)
        elif request.method == "PATCH":
            body = await body_of(request)
            if not isinstance(body, dict):
                return _error(400, "The body must be a JSON object of field values.")
            row = emu.store.update(object_name, record_id, body, timestamp=timestamp)
        else:
            found = emu.store.get(object_name, record_id)
            if found is None:
                return _error(404, f"There is no {object_name} with id {record_id}.")
            row = found
        return JSONResponse(plain(object_name, row))

    async def undelete(request: Request) -> Response:
        object_name = request.path_params["sobject"]
        row = emu.store.undelete(
            object_name,
            request.path_params["record_id"],
            timestamp=request.query_params.get("timestamp"),
        )
        return JSONResponse(plain(object_name, row))

    async def by_id(request: Request) -> Response:
        record_id = request.path_params["record_id"]
        found = emu.store.find(record_id)
        if found is None:
            raise RecordError("The requested resource does not exist", "NOT_FOUND", status=404)
        obj, row = found
        if request.url.path.endswith("/undelete"):
            row = emu.store.undelete(obj.name, row["Id"])
        else:
            row = emu.store.delete(obj.name, row["Id"])
        return JSONResponse({"sobject": obj.name, "record": plain(obj.name, row)})

    async def outbound(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(emu.outbound.stats())
        body = await body_of(request)
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object: url, object, fields, on.")
        registration = emu.outbound.register(
            str(body.get("object") or "Contact"),
            [str(name) for name in body.get("fields") or []],
            str(body["url"]),
            str(body.get("on") or "created"),
        )
        return JSONResponse(vars(registration), status_code=201)

    async def outbound_one(request: Request) -> Response:
        emu.outbound.unregister(request.path_params["registration_id"])
        return JSONResponse({"ok": True})

    async def resend(request: Request) -> Response:
        emu.outbound.resend(request.path_params["notification_id"])
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        body = await body_of(request) or {}
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object naming the faults to arm.")
        if body.get("reset"):
            emu.reset_faults()
        if body.get("expire_tokens"):
            emu.expire_tokens()
        if body.get("exhaust_quota"):
            emu.exhaust_quota()
        if body.get("expire_query_locators"):
            emu.expire_query_locators()
        if body.get("expire_bulk_jobs"):
            emu.expire_bulk_jobs()
        if "bulk_processing_seconds" in body:
            emu.bulk_processing_seconds = float(body["bulk_processing_seconds"])
        if "latency" in body:
            emu.latency = float(body["latency"])
        if "set_quota" in body:
            quota = body["set_quota"]
            emu.set_quota(int(quota.get("max", emu.api_max)), quota.get("used"))
        if "fail_next" in body:
            spec = body["fail_next"]
            emu.fail_next(
                int(spec.get("n", 1)),
                status=int(spec.get("status", 503)),
                body=spec.get("body"),
                path_contains=spec.get("path_contains"),
                headers=spec.get("headers"),
            )
        if "oauth" in body:
            spec = body["oauth"]
            if "rotate_refresh_tokens" in spec:
                emu.oauth.rotate_refresh_tokens = bool(spec["rotate_refresh_tokens"])
            if "device_interval" in spec:
                emu.oauth.device_interval = int(spec["device_interval"])
            if "device_seconds" in spec:
                emu.oauth.device_seconds = float(spec["device_seconds"])
        if "drop_next" in body:
            spec = body["drop_next"]
            emu.drop_next(int(spec.get("n", 1)), path_contains=spec.get("path_contains"))
        return JSONResponse({"ok": True})

    async def objects(request: Request) -> Response:
        body = await body_of(request)
        obj = emu.define_object(body["name"], body.get("fields", {}), label=body.get("label"))
        return JSONResponse({"name": obj.name, "keyPrefix": obj.key_prefix}, status_code=201)

    async def fields(request: Request) -> Response:
        body = await body_of(request)
        fdef = emu.add_field(
            body["object"], body["name"], body.get("type", "string"), label=body.get("label")
        )
        return JSONResponse({"name": fdef.name, "type": fdef.type}, status_code=201)

    async def seed(request: Request) -> Response:
        return JSONResponse(emu.seed_demo_data(), status_code=201)

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                "refresh_tokens": len(emu.oauth.refresh_tokens),
                "revoked_tokens": emu.oauth.revoked,
                "refused_refreshes": emu.oauth.refused_refreshes,
                "request_count": emu.request_count,
                "api_usage": emu.api_used,
                "api_max": emu.api_max,
                "open_query_locators": len(emu.cursors),
                "bulk_query_jobs": len(emu.jobs),
                "records": {
                    obj.name: len(emu.store.rows(obj.name)) for obj in emu.schema.objects()
                },
            }
        )

    async def credentials(request: Request) -> Response:
        return JSONResponse(emu.credentials.as_dict())

    return [
        Route("/__admin/records/{sobject}", guarded(records), methods=["GET", "POST"]),
        Route(
            "/__admin/records/{sobject}/{record_id}",
            guarded(record),
            methods=["GET", "PATCH", "DELETE"],
        ),
        Route(
            "/__admin/records/{sobject}/{record_id}/undelete", guarded(undelete), methods=["POST"]
        ),
        Route("/__admin/ids/{record_id}", guarded(by_id), methods=["DELETE"]),
        Route("/__admin/ids/{record_id}/undelete", guarded(by_id), methods=["POST"]),
        Route("/__admin/outbound", guarded(outbound), methods=["GET", "POST"]),
        Route("/__admin/outbound/{registration_id}", guarded(outbound_one), methods=["DELETE"]),
        Route(
            "/__admin/outbound/notifications/{notification_id}/resend",
            guarded(resend),
            methods=["POST"],
        ),
        Route("/__admin/faults", guarded(faults), methods=["POST"]),
        Route("/__admin/objects", guarded(objects), methods=["POST"]),
        Route("/__admin/fields", guarded(fields), methods=["POST"]),
        Route("/__admin/seed", guarded(seed), methods=["POST"]),
        Route("/__admin/stats", stats, methods=["GET"]),
        Route("/__admin/credentials", credentials, methods=["GET"]),
    ]
