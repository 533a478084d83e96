"""Fixtures for the web tests: a console served over real HTTP on loopback, in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.engine.conftest import service  # the in-memory service, as the engine tests use it
from tests.support import memory_plugin
from zaplite.engine.run import Engine
from zaplite.testing import ZapliteProject
from zaplite.web.server import serve

__all__ = ["RunningConsole", "console", "project", "service", "start_console"]


@dataclass
class RunningConsole:
    """A console served by :func:`zaplite.web.serve` in a thread: its URL, engine and a client."""

    url: str
    engine: Engine
    client: httpx.Client
    _loop: asyncio.AbstractEventLoop
    _stop: asyncio.Event
    _thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the console's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(function(*args), self._loop).result(30)

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
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def start_console(project: ZapliteProject, *, token: str | None = None) -> RunningConsole:
    """Serve ``project``'s console on 127.0.0.1 (any free port) until :meth:`RunningConsole.stop`."""
    workspace = project.workspace
    engine = Engine.for_workspace(workspace)
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            box["loop"], box["stop"] = asyncio.get_running_loop(), stop

            def listening(url: str) -> None:
                box["url"] = url
                ready.set()

            try:
                await serve(
                    workspace,
                    engine,
                    ("127.0.0.1", 0),
                    token=token,
                    running=stop.wait(),
                    on_listening=listening,
                )
            finally:
                await engine.connections.close()

        try:
            asyncio.run(main())
        except BaseException as error:  # shown by the test that waits for the URL
            box["error"] = error
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in box:
        raise box["error"]
    client = httpx.Client(base_url=box["url"], timeout=30, follow_redirects=False)
    return RunningConsole(box["url"], engine, client, box["loop"], box["stop"], thread)


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
