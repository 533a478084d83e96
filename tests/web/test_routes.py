"""Plugins add routes under /hooks/ through ``register_routes``; the server mounts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.web.conftest import start_console
from zaplite import HttpRoute, hookimpl
from zaplite.errors import StartupError
from zaplite.testing import ZapliteProject


class HooksPlugin:
    """Two routes: one that checks its own secret, one behind the console's token."""

    @hookimpl
    def register_routes(self, register: Callable[[HttpRoute], None]) -> None:
        async def notify(request: Request, server: Any) -> JSONResponse:
            if request.query_params.get("token") != "hook-secret":
                return JSONResponse({"error": "bad token"}, status_code=403)
            zap_id = request.path_params["zap_id"]
            body = await request.body()
            return JSONResponse({"zap": zap_id, "known": zap_id in server.zaps, "bytes": len(body)})

        async def status(request: Request, server: Any) -> JSONResponse:
            return JSONResponse({"tasks": len(server.store.list_tasks(limit=10))})

        register(HttpRoute("/hooks/demo/{zap_id}", notify, methods=("POST",), console_token=False))
        register(HttpRoute("/hooks/demo-status", status, methods=("GET",)))


def test_plugin_routes_are_served_with_their_own_access_rules(project: ZapliteProject) -> None:
    project.use_plugins(HooksPlugin())
    console = start_console(project, token="t0ken-for-the-console-1234")
    try:
        client = console.client
        ok = client.post("/hooks/demo/z?token=hook-secret", content=b"<soap/>")
        assert ok.status_code == 200
        assert ok.json() == {"zap": "z", "known": True, "bytes": 7}  # no CSRF for services
        assert client.post("/hooks/demo/z?token=nope").status_code == 403
        assert client.get("/hooks/demo-status").status_code == 401
        bearer = {"Authorization": "Bearer t0ken-for-the-console-1234"}
        assert client.get("/hooks/demo-status", headers=bearer).json() == {"tasks": 0}
        big = client.post("/hooks/demo/z?token=hook-secret", content=b"x" * (5 * 1024 * 1024))
        assert big.status_code == 413
    finally:
        console.stop()


class Clashing:
    """Registers a route outside /hooks/."""

    @hookimpl
    def register_routes(self, register: Callable[[HttpRoute], None]) -> None:
        register(HttpRoute("/metrics", lambda request, server: None))


def test_a_route_outside_hooks_is_a_startup_error(project: ZapliteProject) -> None:
    project.use_plugins(Clashing())
    with pytest.raises(StartupError, match=r"must start with /hooks/"):
        project.workspace  # noqa: B018 - loading the plugins is the test
