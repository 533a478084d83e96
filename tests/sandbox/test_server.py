"""``serve_in_thread``: an app served on loopback from a thread, on a port nobody can take first."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from zaplite.sandbox import server as served
from zaplite.sandbox.server import serve_in_thread

APP = Starlette(routes=[Route("/", lambda request: PlainTextResponse("up"))])


def test_the_port_is_held_from_the_call_not_found_free_and_bound_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another process binds the free port between its choice and the server's start.
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setattr(served, "free_port", lambda host="127.0.0.1": other.getsockname()[1])
        with serve_in_thread(APP) as server:
            assert server.port != other.getsockname()[1]
            assert httpx.get(server.url + "/", timeout=10).text == "up"
            with socket.socket() as late, pytest.raises(OSError):
                late.bind(("127.0.0.1", server.port))


def test_a_busy_port_asked_for_is_one_clear_error() -> None:
    with serve_in_thread(APP) as server:
        with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{server.port} failed to start"):
            serve_in_thread(APP, port=server.port)
        assert httpx.get(server.url + "/", timeout=10).text == "up"
