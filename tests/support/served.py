"""A project's daemon and HTTP server in a thread, as ``zaplite run --http`` runs them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zaplite.engine.daemon import Daemon
from zaplite.engine.run import Engine
from zaplite.testing import ZapliteProject
from zaplite.web.server import serve

__all__ = ["Served", "serve_project", "wait_until"]


def wait_until(check: Callable[[], Any], timeout: float = 30.0, step: float = 0.02) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s")
        time.sleep(step)


@dataclass
class Served:
    """The running server: its base URL, and how to stop it."""

    url: str
    engine: Engine
    daemon: Daemon | None
    _loop: asyncio.AbstractEventLoop
    _stop: Callable[[], None]
    _thread: threading.Thread

    def hook(self, zap_id: str, token: str) -> str:
        """The outbound-message endpoint of ``zap_id``."""
        return f"{self.url}hooks/salesforce/{zap_id}?token={token}"

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(function(*args), self._loop).result(30)

    def stop(self) -> None:
        """Stop the daemon (it finishes its page in flight) and the server."""
        self._loop.call_soon_threadsafe(self._stop)
        self._thread.join(60)


def serve_project(
    project: ZapliteProject, *, daemon: bool = True, token: str | None = None
) -> Served:
    """Serve ``project`` on 127.0.0.1 (a free port), with its daemon unless ``daemon`` is false.

    Without the daemon only the console and the routes are served, as ``zaplite console`` does.
    """
    workspace = project.workspace
    engine = (
        Engine.for_workspace(workspace, owner="test-daemon")
        if daemon
        else (Engine.for_workspace(workspace))
    )
    runner = Daemon(engine, workspace.zaps) if daemon else None
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            stopped = asyncio.Event()
            box["loop"] = asyncio.get_running_loop()
            box["stop"] = runner.stop if runner is not None else stopped.set

            def listening(url: str) -> None:
                box["url"] = url
                ready.set()

            try:
                await serve(
                    workspace,
                    engine,
                    ("127.0.0.1", 0),
                    token=token,
                    daemon=runner,
                    running=runner.run(install_signals=False) if runner else stopped.wait(),
                    on_listening=listening,
                )
            finally:
                await engine.connections.close()

        try:
            asyncio.run(main())
        except BaseException as error:  # shown by the test waiting for the URL
            box["error"] = error
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in box:
        raise box["error"]
    if runner is not None:
        wait_until(lambda: runner.alive)
    return Served(box["url"], engine, runner, box["loop"], box["stop"], thread)
