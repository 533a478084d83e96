"""Dropping a client's connection without an answer, under uvicorn.

ASGI has no message for "close the socket now". Uvicorn's ``send`` callable is a bound
method of its request cycle, which holds the transport; :class:`RawSendMiddleware` keeps
that original ``send`` in the scope so a handler deep inside Starlette can reach it, and
:func:`drop_connection` closes the transport and waits until uvicorn has noticed, so that
uvicorn neither logs an error nor tries to answer. Under another server the drop is not
available and :func:`drop_connection` returns ``False``.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["RAW_SEND_KEY", "RawSendMiddleware", "can_drop", "drop_connection"]

RAW_SEND_KEY = "zaplite.raw_send"


class RawSendMiddleware:
    """Outermost ASGI wrapper that keeps the server's own ``send`` in ``scope[RAW_SEND_KEY]``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Pass the request on with the server's ``send`` remembered in the scope."""
        if scope["type"] == "http":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)


def _cycle(scope: dict[str, Any]) -> Any:
    cycle = getattr(scope.get(RAW_SEND_KEY), "__self__", None)
    if getattr(cycle, "transport", None) is None or not hasattr(cycle, "disconnected"):
        return None
    return cycle


def can_drop(scope: dict[str, Any]) -> bool:
    """Whether the server of this request lets :func:`drop_connection` close its connection."""
    return _cycle(scope) is not None


async def drop_connection(scope: dict[str, Any]) -> bool:
    """Close the client's connection unanswered; ``False`` if the server does not allow it."""
    cycle = _cycle(scope)
    if cycle is None:
        return False
    cycle.transport.close()
    for _ in range(100):
        if cycle.disconnected:
            break
        await asyncio.sleep(0.001)
    return True
