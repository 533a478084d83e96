"""Safe by default: the token, CSRF, size limits and the headers every response carries.

- **Token.** When the server has a token (``[http] token``; required beyond loopback),
  every page, action and ``/metrics`` needs it: ``Authorization: Bearer <token>``
  (Prometheus, curl) or the session cookie that ``/login`` sets for a browser. The
  cookie holds an HMAC of the token under this process's key, never the token.
  ``/healthz``, ``/readyz``, ``/login`` and ``/static`` stay open.
- **CSRF.** State changes are POST only, and each carries the ``csrf`` form field,
  equal to the ``zaplite_csrf`` cookie (SameSite=Strict, HttpOnly); a cross-site
  ``Origin`` is refused as well.
- **Limits.** A query string over :data:`MAX_QUERY` bytes is refused with 414, a body
  over :data:`MAX_BODY` (:data:`MAX_HOOK_BODY` under ``/hooks/``) with 413.
- **Headers.** A strict Content-Security-Policy (no inline script, nothing from
  elsewhere), no framing, no sniffing, no referrer beyond this origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

__all__ = [
    "CSRF_COOKIE",
    "MAX_BODY",
    "MAX_HOOK_BODY",
    "MAX_QUERY",
    "OPEN_PATHS",
    "SESSION_COOKIE",
    "GuardMiddleware",
    "csrf_token",
    "read_form",
    "session_value",
    "token_matches",
]

MAX_QUERY = 2048
MAX_BODY = 16 * 1024
MAX_HOOK_BODY = 4 * 1024 * 1024
SESSION_COOKIE = "zaplite_session"
CSRF_COOKIE = "zaplite_csrf"
OPEN_PATHS = ("/healthz", "/readyz", "/login", "/static/")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class BodyTooLarge(Exception):
    """A request body went past its limit while it was read."""


def session_value(secret: bytes, token: str) -> str:
    """What the session cookie holds: an HMAC of the token, never the token itself."""
    return hmac.new(secret, b"console-session:" + token.encode(), hashlib.sha256).hexdigest()


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is the token (in constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _authorised(scope: MutableMapping[str, Any], token: str, secret: bytes) -> bool:
    headers = Headers(scope=scope)
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") and token_matches(
        authorization[7:].strip(), token
    ):
        return True
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:
        return False
    morsel = cookie.get(SESSION_COOKIE)
    return morsel is not None and hmac.compare_digest(
        morsel.value.encode(), session_value(secret, token).encode()
    )


class GuardMiddleware:
    """Limits, the token and the security headers, in front of every route.

    ``context`` is read on each request (``token``, ``secret``, and ``open_routes``: the
    plugin routes that check their callers themselves).
    """

    def __init__(self, app: ASGIApp, context: Any, open_routes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.context = context
        self.open_routes = open_routes

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        path: str = scope.get("path", "")
        if len(scope.get("query_string", b"")) > MAX_QUERY:
            await _plain(414, "The query string is too long.")(scope, receive, send_with_headers)
            return
        limit = MAX_HOOK_BODY if path.startswith("/hooks/") else MAX_BODY
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _plain(413, "The request body is too large.")(scope, receive, send_with_headers)
            return
        token = self.context.token
        if (
            token is not None
            and not path.startswith(OPEN_PATHS)
            and not self._open_route(path)
            and not _authorised(scope, token, self.context.secret)
        ):
            await _unauthorised(scope)(scope, receive, send_with_headers)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _plain(413, "The request body is too large.")(scope, receive, send_with_headers)

    def _open_route(self, path: str) -> bool:
        return any(_matches(pattern, path) for pattern in self.open_routes)


def _matches(pattern: str, path: str) -> bool:
    """Whether ``path`` fits a route pattern whose ``{params}`` match one path segment."""
    want = pattern.strip("/").split("/")
    got = path.strip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}") and g)
        for w, g in zip(want, got, strict=True)
    )


def _plain(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status)


def _unauthorised(scope: MutableMapping[str, Any]) -> Response:
    accepts_html = "text/html" in Headers(scope=scope).get("accept", "")
    if accepts_html and scope.get("method") == "GET":
        return Response(status_code=303, headers={"location": "/login"})
    return PlainTextResponse(
        "This zaplite console needs its token: send 'Authorization: Bearer <token>'.",
        status_code=401,
        headers={"www-authenticate": 'Bearer realm="zaplite"'},
    )


def csrf_token(request: Request) -> tuple[str, bool]:
    """The request's CSRF token, and whether it is new (and must be set as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) == 43:
        return existing, False
    return secrets.token_urlsafe(32), True


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST that carries a valid CSRF token; raises ``PermissionError``."""
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.get("csrf", "")
    if not (cookie and given and hmac.compare_digest(cookie.encode(), given.encode())):
        raise PermissionError(
            "The form has expired or did not come from this console; reload the page."
        )
    if not _same_origin(request):
        raise PermissionError("The request came from another site.")
    return form
