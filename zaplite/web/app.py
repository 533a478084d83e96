"""The starlette application: the console's routes, the operations endpoints, and plugin routes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from zaplite.errors import ZapliteError
from zaplite.plugin.api import HttpRoute
from zaplite.web import actions, ops, pages
from zaplite.web.context import ServerContext
from zaplite.web.render import render
from zaplite.web.security import (
    SESSION_COOKIE,
    GuardMiddleware,
    read_form,
    session_value,
    token_matches,
)

__all__ = ["create_app"]

log = logging.getLogger("zaplite.web")

STATIC = Path(__file__).parent / "static"


async def login_page(request: Request) -> Response:
    """The form a browser uses to give the console its token (only when there is one)."""
    context: ServerContext = request.app.state.zaplite
    if context.token is None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", title="Sign in", failed=False)


async def login(request: Request) -> Response:
    """Check the token and set the session cookie (an HMAC of the token, never the token)."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    if context.token is None:
        return RedirectResponse("/", status_code=303)
    if not token_matches(form.get("token", ""), context.token):
        return render(request, "login.html", status_code=401, title="Sign in", failed=True)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(context.secret, context.token),
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


def _plugin_route(route: HttpRoute, context: ServerContext) -> Route:
    async def endpoint(request: Request) -> Any:
        return await route.endpoint(request, context)

    return Route(route.path, endpoint, methods=list(route.methods), name=None)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return render(
        request, "error.html", status_code=error.status_code, title="Error", message=error.detail
    )


async def _forbidden(request: Request, error: Exception) -> Response:
    return render(request, "error.html", status_code=403, title="Refused", message=str(error))


async def _zaplite_error(request: Request, error: Exception) -> Response:
    return render(request, "error.html", status_code=400, title="Error", message=str(error))


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("the console failed on %s", request.url.path, exc_info=error)
    message = f"{type(error).__name__}: {error}"
    return render(request, "error.html", status_code=500, title="Error", message=message)


def create_app(context: ServerContext) -> Starlette:
    """The console for ``context``: pages, actions, ``/metrics``, health, and plugin routes."""
    routes: list[BaseRoute] = [
        Route("/", pages.zaps_page, name="zaps"),
        Route("/zaps/{zap_id}", pages.zap_page, name="zap"),
        Route("/tasks/{task_id:int}", pages.task_page, name="task"),
        Route("/connections", pages.connections_page, name="connections"),
        Route("/zaps/{zap_id}/pause", actions.pause, methods=["POST"]),
        Route("/zaps/{zap_id}/resume", actions.resume, methods=["POST"]),
        Route("/zaps/{zap_id}/run", actions.run_now, methods=["POST"]),
        Route("/zaps/{zap_id}/replay-failed", actions.replay_failed, methods=["POST"]),
        Route("/tasks/{task_id:int}/replay", actions.replay_one, methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/metrics", ops.metrics),
        Route("/healthz", ops.healthz),
        Route("/readyz", ops.readyz),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    plugin_routes = context.workspace.registry.routes
    routes.extend(_plugin_route(route, context) for route in plugin_routes)
    open_routes = tuple(route.path for route in plugin_routes if not route.console_token)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, context=context, open_routes=open_routes)],
        exception_handlers={
            HTTPException: _http_error,
            PermissionError: _forbidden,
            ZapliteError: _zaplite_error,
            Exception: _unexpected,
        },
    )
    app.state.zaplite = context
    return app
