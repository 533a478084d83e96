"""Fault injection: scripted failures, dropped connections, latency and quota exhaustion.

:class:`Faults` holds what is armed; :class:`FaultMiddleware` is the outermost ASGI layer
that records every request and applies latency, drops and scripted failures before the
request reaches the routes. ``/__admin/`` requests are never faulted or recorded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArmedFailure", "FaultMiddleware", "Faults", "RequestLog"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_FAILURE_BODY: list[dict[str, str]] = [
    {
        "message": "Server is temporarily unavailable. Please retry.",
        "errorCode": "SERVER_UNAVAILABLE",
    }
]


@dataclass
class ArmedFailure:
    """The next ``remaining`` matching requests fail with ``status`` and ``body`` (or are dropped)."""

    remaining: int
    status: int = 503
    body: Any = None
    path_contains: str | None = None
    drop: bool = False
    headers: dict[str, str] | None = None

    def matches(self, path: str) -> bool:
        """Whether a request for ``path`` is one this fault applies to."""
        return self.remaining > 0 and (self.path_contains is None or self.path_contains in path)


@dataclass
class Faults:
    """What is currently armed; thread-safe, shared by the Python API and the HTTP app."""

    latency: float = 0.0
    quota_exhausted: bool = False
    armed: list[ArmedFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail_next(
        self,
        n: int,
        *,
        status: int = 503,
        body: Any = None,
        path_contains: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Fail the next ``n`` requests (whose path contains ``path_contains``) with ``status``/``body``.

        ``headers`` are added to those responses (``{"Retry-After": "2"}``, say).
        """
        with self._lock:
            self.armed.append(ArmedFailure(n, status, body, path_contains, headers=headers))

    def drop_next(self, n: int, *, path_contains: str | None = None) -> None:
        """Close the connection without a response for the next ``n`` matching requests."""
        with self._lock:
            self.armed.append(ArmedFailure(n, path_contains=path_contains, drop=True))

    def take(self, path: str, *, named_only: bool = False) -> ArmedFailure | None:
        """The armed fault that applies to a request for ``path`` (consuming one use), or ``None``.

        With ``named_only`` (a composite call's subrequests) only failures armed for a
        path (``path_contains``) apply, and never a dropped connection.
        """
        with self._lock:
            for fault in self.armed:
                if named_only and (fault.path_contains is None or fault.drop):
                    continue
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.armed.remove(fault)
                    return fault
        return None

    def reset(self) -> None:
        """Disarm everything: no failures, drops, latency or quota exhaustion."""
        with self._lock:
            self.armed.clear()
            self.latency = 0.0
            self.quota_exhausted = False


class RequestLog:
    """The requests received (but admin ones): ``(method, path, query string)``.

    Keeps the last ``keep`` entries (a long benchmark must not grow it without bound) and
    counts them all.
    """

    def __init__(self, keep: int = 100_000) -> None:
        self.entries: deque[tuple[str, str, str]] = deque(maxlen=keep)
        self.count = 0
        self._lock = threading.Lock()

    def add(self, method: str, path: str, query: str) -> None:
        """Record one request."""
        with self._lock:
            self.entries.append((method, path, query))
            self.count += 1

    def clear(self) -> None:
        """Forget the requests recorded so far (the count starts again from zero)."""
        with self._lock:
            self.entries.clear()
            self.count = 0


async def _drop_connection(send: Send) -> bool:
    """Close the client connection without writing a response, when the server lets us reach it.

    Works with uvicorn, whose ``send`` is a bound method of the request cycle holding the
    transport. Returns ``False`` when the transport cannot be reached.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    for _ in range(10):
        if getattr(cycle, "disconnected", False):
            break
        await asyncio.sleep(0)
    if cycle is not None and hasattr(cycle, "disconnected"):
        cycle.disconnected = True  # tell uvicorn not to write its "no response" 500
    return True


class FaultMiddleware:
    """The outermost ASGI layer: records requests, applies the armed faults, adds the limit header.

    ``Sforce-Limit-Info`` (from ``limit_info()``) goes on every response except the
    version list (``/services/data/``) and the admin API.
    """

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        log: RequestLog,
        *,
        limit_info: Callable[[], str] | None = None,
        admin_prefix: str = "/__admin",
        no_limit_header: tuple[str, ...] = ("/services/data", "/services/data/"),
    ) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.limit_info = limit_info
        self.admin_prefix = admin_prefix
        self.no_limit_header = no_limit_header

    def _with_limit_header(self, send: Send) -> Send:
        """``send`` adding ``Sforce-Limit-Info`` (the usage at response time) to the response."""
        limit_info = self.limit_info
        assert limit_info is not None

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"sforce-limit-info"
                ]
                headers.append((b"sforce-limit-info", limit_info().encode()))
                message = dict(message, headers=headers)
            await send(message)

        return sending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        self.log.add(scope["method"], path, query)
        raw_send = send  # the server's own send, which reaches the connection
        if self.limit_info is not None and path not in self.no_limit_header:
            send = self._with_limit_header(send)
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.drop and await _drop_connection(raw_send):
            return
        body = DEFAULT_FAILURE_BODY if fault.body is None else fault.body
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": fault.status if not fault.drop else 503,
                "headers": [
                    (b"content-type", b"application/json;charset=UTF-8"),
                    (b"content-length", str(len(payload)).encode()),
                    *[
                        (k.lower().encode(), str(v).encode())
                        for k, v in (fault.headers or {}).items()
                    ],
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
