"""The starlette app: OAuth, the REST API under ``/services/data/vNN.N/``, and ``/__admin/``."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .admin import admin_routes
from .auth import OAuthError, grant_token
from .collections import Collections
from .composite import SUBREQUEST, CompositeError, run_composite
from .cursors import parse_locator
from .data import RecordError, format_datetime, parse_datetime
from .faults import FaultMiddleware
from .oauthflows import Redirect, consent_page, device_page, message_page
from .soql import SoqlError

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator

__all__ = ["API_VERSIONS", "build_app", "sf_error"]

API_VERSIONS: list[tuple[str, str]] = [
    ("62.0", "Winter '25"),
    ("63.0", "Spring '25"),
    ("64.0", "Summer '25"),
    ("65.0", "Winter '26"),
    ("66.0", "Spring '26"),
    ("67.0", "Summer '26"),
]
_VERSION_RE = re.compile(r"^(\d{2})\.0$")
_OLDEST_VERSION = 20
_NEWEST_VERSION = 67
_CONTENT_TYPE = "application/json;charset=UTF-8"

Handler = Callable[[Request, str], Awaitable[Response]]


def sf_json(body: Any, status: int = 200) -> JSONResponse:
    """A JSON response with Salesforce's content type."""
    return JSONResponse(body, status_code=status, media_type=_CONTENT_TYPE)


def sf_error(status: int, message: str, code: str, fields: list[str] | None = None) -> JSONResponse:
    """Salesforce's REST error body: ``[{"message", "errorCode"}]``."""
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return sf_json([entry], status)


def _not_found() -> JSONResponse:
    return sf_error(404, "The requested resource does not exist", "NOT_FOUND")


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _batch_size(request: Request) -> int:
    """The ``batchSize`` of the ``Sforce-Query-Options`` header (default 2000)."""
    header = request.headers.get("sforce-query-options", "")
    for option in header.split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return int(value.strip())
    return 2000


async def _form(request: Request) -> dict[str, str]:
    """A form-encoded body (``application/x-www-form-urlencoded``) as a dict."""
    raw = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise RecordError(
            "Unexpected character in the request body: it is not valid JSON.", "JSON_PARSER_ERROR"
        ) from None


def build_app(emu: SalesforceEmulator) -> Any:
    """The ASGI app for ``emu``: routes wrapped in fault injection and slash normalisation."""

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap an API handler: version check, bearer token, quota, errors (the middleware adds the limit header)."""

        async def endpoint(request: Request) -> Response:
            version = request.path_params.get("version", "")
            match = _VERSION_RE.match(version)
            if not match or not _OLDEST_VERSION <= int(match.group(1)) <= _NEWEST_VERSION:
                return _not_found()
            return await _authorized(request, version, handler)

        return endpoint

    async def _authorized(request: Request, version: str, handler: Handler) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not emu.tokens.valid(token.strip()):
            response = sf_error(401, "Session expired or invalid", "INVALID_SESSION_ID")
            response.headers["WWW-Authenticate"] = "Token"
            return response
        # A composite call is one API call: its subrequests are not counted again.
        if not request.scope.get(SUBREQUEST) and not emu.use_api():
            return sf_error(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
        try:
            return await handler(request, version)
        except SoqlError as exc:
            return sf_error(400, exc.message, exc.error_code)
        except RecordError as exc:
            return sf_json(exc.body(), exc.status)

    # ---------------------------------------------------------------- no auth

    async def versions(request: Request) -> Response:
        return sf_json(
            [
                {"label": label, "url": f"/services/data/v{v}", "version": v}
                for v, label in API_VERSIONS
            ]
        )

    async def token(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        form.update({k: v for k, v in request.query_params.items() if k not in form})
        try:
            body = grant_token(
                emu.credentials,
                form,
                authorization=request.headers.get("authorization"),
                login_url=_base_url(request),
                user_id=emu.user_id,
                tokens=emu.tokens,
                flows=emu.oauth,
            )
        except OAuthError as exc:
            return sf_json(exc.body(), exc.status)
        return sf_json(body)

    # ---------------------------------------------------------------- interactive OAuth

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            try:
                request_id, pending = emu.oauth.start(dict(request.query_params))
            except Redirect as exc:
                return RedirectResponse(exc.location, status_code=302)
            except OAuthError as exc:
                return HTMLResponse(
                    message_page("Error", f"error={exc.error}: {exc.description}"), 400
                )
            return HTMLResponse(consent_page(request_id, pending, emu.credentials.username))
        form = await _form(request)
        try:
            location = emu.oauth.decide(
                str(form.get("request_id", "")), form.get("decision") == "allow"
            )
        except OAuthError as exc:
            return HTMLResponse(message_page("Error", exc.description), 400)
        return RedirectResponse(location, status_code=302)

    async def device(request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(device_page(request.query_params.get("user_code", "")))
        form = await _form(request)
        user_code = str(form.get("user_code", ""))
        found = emu.oauth.find_device(user_code)
        if found is None:
            return HTMLResponse(device_page(user_code, "That code is not valid."), 400)
        if form.get("decision") == "allow":
            found.status = "approved"
            return HTMLResponse(message_page("You're connected", "Return to your device."))
        found.status = "denied"
        return HTMLResponse(message_page("Access denied", "The device was not connected."))

    async def revoke(request: Request) -> Response:
        form = await _form(request)
        token = form.get("token") or request.query_params.get("token", "")
        access = emu.oauth.revoke(token)
        if access is not None:
            for issued in access:
                emu.tokens.revoke(issued)
        elif not emu.tokens.revoke(token):
            return sf_json(
                {"error": "unsupported_token_type", "error_description": "invalid token"}, 400
            )
        return Response(status_code=200)

    async def identity(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not emu.tokens.valid(token.strip()):
            return Response("Bad_OAuth_Token", status_code=403, media_type="text/plain")
        org, user = request.path_params["org"], request.path_params["user"]
        if org != emu.org_id or user != emu.user_id:
            return Response("Bad_Id", status_code=404, media_type="text/plain")
        base = _base_url(request)
        row = emu.store.get("User", emu.user_id) or {}
        name = f"{row.get('FirstName', '')} {row.get('LastName', '')}".strip()
        return sf_json(
            {
                "id": f"{base}/id/{org}/{user}",
                "asserted_user": True,
                "user_id": user,
                "organization_id": org,
                "username": emu.credentials.username,
                "nick_name": row.get("Alias", "integ"),
                "display_name": name,
                "email": emu.credentials.username,
                "active": True,
                "user_type": "STANDARD",
                "language": "en_US",
                "locale": "en_US",
                "utcOffset": 0,
                "urls": {
                    "rest": f"{base}/services/data/v{{version}}/",
                    "query": f"{base}/services/data/v{{version}}/query/",
                },
            }
        )

    # ---------------------------------------------------------------- API

    async def resources(request: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        names = (
            "sobjects",
            "query",
            "queryAll",
            "limits",
            "search",
            "tooling",
            "composite",
            "jobs",
        )
        return sf_json({name: f"{base}/{name}" for name in names})

    async def limits(request: Request, version: str) -> Response:
        used = emu.api_max if emu.faults.quota_exhausted else emu.api_used
        return sf_json(
            {
                "DailyApiRequests": {"Max": emu.api_max, "Remaining": max(0, emu.api_max - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(emu.jobs)},
                "DataStorageMB": {"Max": 5, "Remaining": 5},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            }
        )

    async def run_query(request: Request, version: str, include_deleted: bool) -> Response:
        soql = request.query_params.get("q")
        if soql is None:
            return sf_error(400, "A query string has to be specified", "MALFORMED_QUERY")
        result = await run_in_threadpool(
            emu.query,
            soql,
            include_deleted=include_deleted,
            batch_size=_batch_size(request),
            version=version,
        )
        return sf_json(result)

    async def query(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=False)

    async def query_all(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=True)

    async def query_more(request: Request, version: str) -> Response:
        parsed = parse_locator(request.path_params["locator"])
        if parsed is None:
            return sf_error(400, "invalid query locator", "INVALID_QUERY_LOCATOR")
        result = await run_in_threadpool(
            emu.query_more,
            parsed[0],
            parsed[1],
            batch_size=_batch_size(request),
            version=version,
            include_deleted=request.url.path.split("/")[4] == "queryAll",
        )
        return sf_json(result)

    def obj_or_none(request: Request) -> Any:
        return emu.schema.get(request.path_params["sobject"])

    async def describe_global(request: Request, version: str) -> Response:
        return sf_json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [obj.summary(version) for obj in emu.schema.objects()],
            }
        )

    async def sobject(request: Request, version: str) -> Response:
        obj = obj_or_none(request)
        if obj is None:
            return _not_found()
        if request.method == "GET":
            return sf_json({"objectDescribe": obj.summary(version), "recentItems": []})
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise RecordError(
                "The request body must be a JSON object of field values.", "JSON_PARSER_ERROR"
            )
        body.pop("attributes", None)
        row = emu.store.insert(obj.name, body, api=True)
        return sf_json({"id": row["Id"], "success": True, "errors": []}, 201)

    async def describe(request: Request, version: str) -> Response:
        obj = obj_or_none(request)
        if obj is None:
            return _not_found()
        return sf_json(obj.describe(version))

    async def updated_or_deleted(request: Request, version: str) -> Response:
        obj = obj_or_none(request)
        if obj is None:
            return _not_found()
        try:
            start = parse_datetime(request.query_params["start"])
            end = parse_datetime(request.query_params["end"])
        except (KeyError, ValueError):
            return sf_error(
                400, "Both start and end must be given as date-times.", "INVALID_REPLICATION_DATE"
            )
        deleted = request.url.path.rstrip("/").endswith("deleted")
        rows = [
            row
            for row in emu.store.rows(obj.name)
            if bool(row.get("IsDeleted")) == deleted and start <= row["SystemModstamp"] <= end
        ]
        if deleted:
            return sf_json(
                {
                    "deletedRecords": [
                        {"id": row["Id"], "deletedDate": format_datetime(row["SystemModstamp"])}
                        for row in rows
                    ],
                    "earliestDateAvailable": format_datetime(start),
                    "latestDateCovered": format_datetime(end),
                }
            )
        return sf_json(
            {"ids": [row["Id"] for row in rows], "latestDateCovered": format_datetime(end)}
        )

    async def record(request: Request, version: str) -> Response:
        obj = obj_or_none(request)
        if obj is None:
            return _not_found()
        record_id = request.path_params["record_id"]
        if request.method == "PATCH":
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise RecordError(
                    "The request body must be a JSON object of field values.", "JSON_PARSER_ERROR"
                )
            body.pop("attributes", None)
            emu.store.update(obj.name, record_id, body, api=True)
            return Response(status_code=204)
        if request.method == "DELETE":
            emu.store.delete(obj.name, record_id)
            return Response(status_code=204)
        row = emu.store.get(obj.name, record_id)
        if row is None or row.get("IsDeleted"):
            return _not_found()
        wanted = request.query_params.get("fields")
        fields = None
        if wanted:
            fields = [f.strip() for f in wanted.split(",") if f.strip()]
            unknown = [f for f in fields if obj.field(f) is None]
            if unknown:
                return sf_error(
                    400,
                    f"No such column '{unknown[0]}' on sobject of type {obj.name}",
                    "INVALID_FIELD",
                )
        with emu.store.lock:
            return sf_json(emu.store.to_json(obj, row, version, fields))

    async def composite(request: Request, version: str) -> Response:
        if request.scope.get(SUBREQUEST):
            return sf_error(400, "A composite request cannot contain one.", "INVALID_INPUT")
        body = await _json_body(request)
        try:
            result = await run_composite(strip_slash, request.scope, body, emu.faults)
        except CompositeError as exc:
            return sf_error(400, exc.message, exc.code)
        return sf_json(result)

    collections = Collections(emu)

    async def sobject_collection(request: Request, version: str) -> Response:
        """sObject Collections: create (POST), update (PATCH), delete (DELETE ?ids=)."""
        if request.method == "DELETE":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i.strip()]
            if not ids:
                return sf_error(400, "The ids parameter is required.", "MISSING_ARGUMENT")
            all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"
            return sf_json(await run_in_threadpool(collections.delete, ids, all_or_none))
        body = await _json_body(request)
        return sf_json(await run_in_threadpool(collections.write, request.method, body))

    async def sobject_collection_read(request: Request, version: str) -> Response:
        def listed(name: str) -> list[str]:
            return [i.strip() for i in request.query_params.get(name, "").split(",") if i.strip()]

        found = await run_in_threadpool(
            collections.read,
            request.path_params["sobject"],
            listed("ids"),
            listed("fields"),
            version,
        )
        return sf_json(found)

    async def create_job(request: Request, version: str) -> Response:
        body = await _json_body(request)
        job = await run_in_threadpool(
            emu.jobs.create, body, emu.compile, user_id=emu.user_id, version=version
        )
        return sf_json(job.info())

    async def job(request: Request, version: str) -> Response:
        job_id = request.path_params["job_id"]
        if request.method == "DELETE":
            emu.jobs.delete(job_id)
            return Response(status_code=204)
        if request.method == "PATCH":
            body = await _json_body(request)
            if not isinstance(body, dict) or body.get("state") != "Aborted":
                raise RecordError("A query job can only be set to Aborted.", "INVALIDJOBSTATE")
            return sf_json(emu.jobs.abort(job_id).info())
        found = await run_in_threadpool(emu.jobs.get, job_id)
        return sf_json(found.info())

    async def job_results(request: Request, version: str) -> Response:
        raw = request.query_params.get("maxRecords")
        if raw is not None and not raw.isdigit():
            raise RecordError("maxRecords must be a positive number.", "INVALIDJOB")
        text, locator, count = await run_in_threadpool(
            emu.jobs.results,
            request.path_params["job_id"],
            locator=request.query_params.get("locator"),
            max_records=int(raw) if raw is not None else None,
        )
        return Response(
            text,
            media_type="text/csv",
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)},
        )

    base = "/services/data/v{version}"
    routes = [
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/services/oauth2/revoke", revoke, methods=["GET", "POST"]),
        Route("/setup/connect", device, methods=["GET", "POST"]),
        Route("/id/{org}/{user}", identity, methods=["GET"]),
        Route(base, api(resources), methods=["GET"]),
        Route(f"{base}/limits", api(limits), methods=["GET"]),
        Route(f"{base}/query", api(query), methods=["GET"]),
        Route(f"{base}/queryAll", api(query_all), methods=["GET"]),
        Route(f"{base}/query/{{locator}}", api(query_more), methods=["GET"]),
        Route(f"{base}/queryAll/{{locator}}", api(query_more), methods=["GET"]),
        Route(f"{base}/composite", api(composite), methods=["POST"]),
        Route(
            f"{base}/composite/sobjects",
            api(sobject_collection),
            methods=["POST", "PATCH", "DELETE"],
        ),
        Route(
            f"{base}/composite/sobjects/{{sobject}}",
            api(sobject_collection_read),
            methods=["GET"],
        ),
        Route(f"{base}/jobs/query", api(create_job), methods=["POST"]),
        Route(f"{base}/jobs/query/{{job_id}}", api(job), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{base}/jobs/query/{{job_id}}/results", api(job_results), methods=["GET"]),
        Route(f"{base}/sobjects", api(describe_global), methods=["GET"]),
        Route(f"{base}/sobjects/{{sobject}}", api(sobject), methods=["GET", "POST"]),
        Route(f"{base}/sobjects/{{sobject}}/describe", api(describe), methods=["GET"]),
        Route(f"{base}/sobjects/{{sobject}}/updated", api(updated_or_deleted), methods=["GET"]),
        Route(f"{base}/sobjects/{{sobject}}/deleted", api(updated_or_deleted), methods=["GET"]),
        Route(
            f"{base}/sobjects/{{sobject}}/{{record_id}}",
            api(record),
            methods=["GET", "PATCH", "DELETE"],
        ),
        *admin_routes(emu),
    ]
    starlette = Starlette(routes=routes)
    starlette.router.redirect_slashes = False

    async def not_found_handler(request: Request, exc: Exception) -> Response:
        return _not_found()

    starlette.add_exception_handler(404, not_found_handler)

    async def not_allowed_handler(request: Request, exc: Exception) -> Response:
        return sf_error(405, "HTTP Method not allowed", "METHOD_NOT_ALLOWED")

    starlette.add_exception_handler(405, not_allowed_handler)

    async def strip_slash(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and len(scope["path"]) > 1 and scope["path"].endswith("/"):
            scope = dict(scope, path=scope["path"].rstrip("/"))
        await starlette(scope, receive, send)

    return FaultMiddleware(strip_slash, emu.faults, emu.log, limit_info=lambda: emu.limit_info)
