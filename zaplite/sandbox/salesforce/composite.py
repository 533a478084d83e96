"""``POST /services/data/vXX.X/composite``: up to 25 subrequests in one API call.

Each subrequest is served by the same routes as a request of its own, with the outer
request's session, and answered in ``compositeResponse`` with its own status, headers
and body. The whole series counts as ONE call against the org's daily allocation
(the outer request is counted; the subrequests are not), as Salesforce counts it.
Composite **Batch** (``/composite/batch``), which Salesforce counts per subrequest, is
not emulated.

Limits, as documented: at most 25 subrequests, at most 5 of them query operations
(``query``, ``queryAll``, or the next page of either). With ``allOrNone`` false (the
default) a failed subrequest fails alone; with it true, the subrequests after a failure
answer ``PROCESSING_HALTED``. ``@{referenceId.path}`` in a later subrequest's url or
body is replaced by that value of an earlier subrequest's response body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

from .faults import DEFAULT_FAILURE_BODY, Faults

__all__ = [
    "MAX_QUERY_OPERATIONS",
    "MAX_SUBREQUESTS",
    "SUBREQUEST",
    "CompositeError",
    "is_query_operation",
    "run_composite",
]

MAX_SUBREQUESTS = 25
MAX_QUERY_OPERATIONS = 5

SUBREQUEST = "zaplite.composite.subrequest"
"""Scope key marking a request served inside a composite call: it is not counted again."""

_QUERY_PATH = re.compile(r"^/services/data/v\d+\.\d+/(query|queryAll)(/[^/]+)?/?$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


class CompositeError(ValueError):
    """A composite request Salesforce refuses as a whole (HTTP 400, one error entry)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def is_query_operation(url: str) -> bool:
    """Whether a subrequest's url is a query, a queryAll, or the next page of one."""
    return bool(_QUERY_PATH.match(urlsplit(url).path))


def _check(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """The subrequests and ``allOrNone`` of a composite body; raises :class:`CompositeError`."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise CompositeError(
            "The request body must be a JSON object with a compositeRequest list.",
            "JSON_PARSER_ERROR",
        )
    requests = body["compositeRequest"]
    if not requests:
        raise CompositeError("The compositeRequest list is empty.", "INVALID_INPUT")
    if len(requests) > MAX_SUBREQUESTS:
        raise CompositeError(
            f"A composite request may have at most {MAX_SUBREQUESTS} subrequests; "
            f"this one has {len(requests)}.",
            "LIMIT_EXCEEDED",
        )
    seen: set[str] = set()
    queries = 0
    for entry in requests:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("url"), str)
            or not isinstance(entry.get("method"), str)
            or not isinstance(entry.get("referenceId"), str)
        ):
            raise CompositeError(
                "Each subrequest needs a method, a url and a referenceId.", "INVALID_INPUT"
            )
        if entry["referenceId"] in seen:
            raise CompositeError(
                f"Duplicate referenceId {entry['referenceId']!r} in the composite request.",
                "INVALID_INPUT",
            )
        seen.add(entry["referenceId"])
        if not entry["url"].startswith("/services/data/v"):
            raise CompositeError(
                f"The subrequest url {entry['url']!r} is not a REST API resource.", "INVALID_INPUT"
            )
        if is_query_operation(entry["url"]):
            queries += 1
    if queries > MAX_QUERY_OPERATIONS:
        raise CompositeError(
            f"A composite request may have at most {MAX_QUERY_OPERATIONS} query operations; "
            f"this one has {queries}.",
            "LIMIT_EXCEEDED",
        )
    return requests, bool(body.get("allOrNone", False))


def _resolve(value: str, results: dict[str, Any], *, in_url: bool) -> str:
    """``value`` with each ``@{ref.path}`` replaced by the referenced response's value."""

    def replace(match: re.Match[str]) -> str:
        current: Any = results.get(match[1])
        for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", match[2]):
            key, index = part
            if isinstance(current, dict) and key:
                current = current.get(key)
            elif isinstance(current, list) and index and int(index) < len(current):
                current = current[int(index)]
            else:
                current = None
        text = "" if current is None else str(current)
        return quote(text, safe="") if in_url else text

    return _REFERENCE.sub(replace, value)


def _resolve_body(body: Any, results: dict[str, Any]) -> Any:
    if isinstance(body, str):
        return _resolve(body, results, in_url=False)
    if isinstance(body, dict):
        return {key: _resolve_body(value, results) for key, value in body.items()}
    if isinstance(body, list):
        return [_resolve_body(value, results) for value in body]
    return body


async def _serve(
    app: ASGIApp, outer: Scope, method: str, url: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], Any]:
    """Serve one subrequest through ``app``: its status, headers and JSON body."""
    parts = urlsplit(url)
    inherited = [
        (name, value)
        for name, value in outer.get("headers", [])
        if name.lower() in (b"authorization", b"sforce-query-options")
    ]
    extra = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    scope: dict[str, Any] = {
        **{
            k: outer[k]
            for k in ("type", "http_version", "scheme", "server", "client")
            if k in outer
        },
        "method": method.upper(),
        "path": parts.path,
        "raw_path": parts.path.encode("latin-1"),
        "query_string": parts.query.encode("latin-1"),
        "root_path": "",
        "headers": [*inherited, *extra, (b"content-length", str(len(body)).encode())],
        SUBREQUEST: True,
    }
    sent = False
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                key = name.decode("latin-1")
                if key.lower() in ("location",):
                    response_headers[key.title()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    raw = b"".join(chunks)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, response_headers, parsed


async def run_composite(
    app: ASGIApp, outer: Scope, body: Any, faults: Faults | None = None
) -> dict[str, Any]:
    """Run a composite request's subrequests in order through ``app``; the response body.

    A failure armed in ``faults`` for a path (``path_contains``) answers the subrequests
    whose path matches, as it would answer a request of their own. Raises
    :class:`CompositeError` when the request as a whole is not acceptable.
    """
    requests, all_or_none = _check(body)
    results: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    halted = False
    for entry in requests:
        reference = entry["referenceId"]
        if halted:
            answers.append(
                {
                    "body": [
                        {
                            "errorCode": "PROCESSING_HALTED",
                            "message": "The transaction was rolled back since another "
                            "operation in the same transaction failed.",
                        }
                    ],
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": reference,
                }
            )
            continue
        url = _resolve(entry["url"], results, in_url=True)
        payload = b""
        if entry.get("body") is not None:
            payload = json.dumps(_resolve_body(entry["body"], results)).encode()
        headers = entry.get("httpHeaders") or {}
        if payload:
            headers = {"Content-Type": "application/json", **headers}
        fault = faults.take(urlsplit(url).path, named_only=True) if faults else None
        if fault is not None:
            status, response_headers = fault.status, dict(fault.headers or {})
            answer = DEFAULT_FAILURE_BODY if fault.body is None else fault.body
        else:
            status, response_headers, answer = await _serve(
                app, outer, entry["method"], url, headers, payload
            )
        results[reference] = answer
        answers.append(
            {
                "body": answer,
                "httpHeaders": response_headers,
                "httpStatusCode": status,
                "referenceId": reference,
            }
        )
        if status >= 400 and all_or_none:
            halted = True
    return {"compositeResponse": answers}
