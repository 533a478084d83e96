"""Serve an ASGI app (an emulator) with uvicorn on a free loopback port, in a thread or a process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

__all__ = ["RunningServer", "bound_socket", "free_port", "serve_in_thread"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """An emulator being served: its base ``url``; ``stop()`` shuts it down."""

    url: str
    host: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free one), for uvicorn to serve on.

    Binding first and serving on the socket leaves no moment in which another process
    could take a port chosen as free.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int | None = None, timeout: float = 10.0
) -> RunningServer:
    """Start ``app`` on ``host:port`` (a free port when ``None``) in a daemon thread; return once it accepts.

    The listening socket is bound here, before the thread starts, so a free port cannot
    be taken by someone else between choosing it and serving on it.
    """
    try:
        sock = bound_socket(host, port or 0)
    except OSError as error:
        raise RuntimeError(f"the emulator on {host}:{port} failed to start ({error})") from None
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        backlog=2048,
    )
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"emulator:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the emulator on {host}:{port} failed to start")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the emulator on {host}:{port} did not start in {timeout} s")
        time.sleep(0.01)
    return RunningServer(
        url=f"http://{host}:{port}", host=host, port=port, _server=server, _thread=thread
    )
