"""Fixtures for the web tests: a console served over real HTTP on loopback, in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.engine.conftest import service  # the in-memory service, as the engine tests use it
from tests.support import memory_plugin
from tests.support.served import Served, serve_project
from zaplite.engine.run import Engine
from zaplite.testing import ZapliteProject

__all__ = ["RunningConsole", "console", "project", "service", "start_console"]


@dataclass
class RunningConsole:
    """A console served by :func:`zaplite.web.serve` in a thread: its URL, engine and a client."""

    served: Served
    client: httpx.Client

    @property
    def url(self) -> str:
        """The console's base URL."""
        return self.served.url

    @property
    def engine(self) -> Engine:
        """The engine behind the console's actions."""
        return self.served.engine

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the console's loop and return its result."""
        return self.served.call(function, *args)

    def csrf(self) -> str:
        """The CSRF token the console gave this client (a page is fetched if it has none)."""
        if "zaplite_csrf" not in self.client.cookies:
            self.client.get("/")
        return self.client.cookies["zaplite_csrf"]

    def post(self, path: str, **form: str) -> httpx.Response:
        """POST a console form with this client's CSRF token."""
        return self.client.post(path, data={"csrf": self.csrf(), **form})

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.client.close()
        self.served.stop()


def start_console(project: ZapliteProject, *, token: str | None = None) -> RunningConsole:
    """Serve ``project``'s console on 127.0.0.1 (any free port) until :meth:`RunningConsole.stop`."""
    served = serve_project(project, daemon=False, token=token)
    client = httpx.Client(base_url=served.url, timeout=30, follow_redirects=False)
    return RunningConsole(served, client)


@pytest.fixture
def project(zaplite_project: ZapliteProject, service: Any) -> ZapliteProject:
    """A project with the memory plugin, one connection (with a secret) and one zap ``z``."""
    zaplite_project.use_plugins(memory_plugin)
    zaplite_project.add_connection("mem", "memory", name="default", token="s3cret-memory-token")
    zaplite_project.add_zap(memory_plugin.memory_zap("z"))
    return zaplite_project


@pytest.fixture
def console(project: ZapliteProject) -> Iterator[RunningConsole]:
    """The project's console, served on loopback without a token."""
    running = start_console(project)
    yield running
    running.stop()
