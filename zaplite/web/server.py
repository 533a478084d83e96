"""Serving the console: checks of the address and token, the redactor, and uvicorn beside the daemon.

``zaplite run --http`` serves while the daemon runs and stops serving when it stops;
``zaplite console`` serves until SIGINT/SIGTERM without running any zap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy.engine import make_url

from zaplite.engine.health import StoreProbe
from zaplite.engine.run import Engine
from zaplite.errors import FileError, UsageError
from zaplite.project.connections import Connections
from zaplite.project.workspace import Workspace
from zaplite.web.app import create_app
from zaplite.web.context import ServerContext
from zaplite.web.redact import Redactor, secret_values

if TYPE_CHECKING:
    from zaplite.engine.daemon import Daemon

__all__ = ["Listen", "check_listen", "is_loopback", "redactor_for", "serve"]

log = logging.getLogger("zaplite.web")

Listen = tuple[str, int]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(listen: Listen, token: str | None, *, where: str, file: str | None) -> None:
    """Refuse a non-loopback address without a token, naming where the address came from."""
    host, _port = listen
    if token is None and not is_loopback(host):
        message = (
            f"the console would listen on {host}, beyond this machine, without a token; "
            'set [http] token = "${ZAPLITE_HTTP_TOKEN}" (16 characters or more) or listen '
            "on 127.0.0.1"
        )
        if where == "http.listen":
            raise FileError(file, "http.listen", message)
        raise UsageError(f"--http {host}: {message[0].upper()}{message[1:]}.")


def redactor_for(workspace: Workspace, token: str | None) -> Redactor:
    """A redactor that knows every secret of the workspace: connections, token, store password."""
    redactor = Redactor([token] if token else [])
    pool = Connections(workspace.config, workspace.registry, vault=workspace.vault)
    for name, entry in workspace.config.connections.items():
        try:
            raw = entry.resolve()
        except FileError:
            raw = {}
        try:
            settings = pool.settings(name)
        except Exception:  # a broken connection is reported by the commands that use it
            settings = None
        redactor.add(secret_values(settings, raw))
    with contextlib.suppress(Exception):
        password = make_url(workspace.config.store_url).password
        if password:
            redactor.add([str(password)])
    return redactor


def _bind(listen: Listen) -> socket.socket:
    """The listening socket, bound now so that a taken port is one clear error."""
    host, port = listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted sockets only when the protocol
    # says TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UsageError(
            f"The console cannot listen on {host}:{port}: {error.strerror or error}."
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon (or :func:`serve`) owns the signals."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]  # uvicorn >= 0.29
        yield


async def serve(
    workspace: Workspace,
    engine: Engine,
    listen: Listen,
    *,
    token: str | None,
    daemon: Daemon | None = None,
    running: Awaitable[None] | None = None,
    on_listening: object = None,
) -> None:
    """Serve the console on ``listen`` until ``running`` (the daemon) ends, or until a signal.

    Without ``running`` (``zaplite console``) SIGINT and SIGTERM stop the server.
    ``on_listening`` is called with the URL once the socket is bound.
    """
    sock = _bind(listen)
    probe = StoreProbe(engine.store.ping, outage=engine.outage)
    context = ServerContext(
        workspace=workspace,
        engine=engine,
        daemon=daemon,
        token=token,
        probe=probe,
        redactor=redactor_for(workspace, token),
    )
    app = create_app(context)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        h11_max_incomplete_event_size=16 * 1024,
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    probing = asyncio.create_task(probe.run())
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if callable(on_listening):
        on_listening(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    try:
        if running is not None:
            daemon_task = asyncio.ensure_future(running)
            if daemon is not None:
                await _until_scheduled(daemon, daemon_task)
            context.ready = not daemon_task.done()
            await asyncio.wait({daemon_task, serving}, return_when=asyncio.FIRST_COMPLETED)
            if not daemon_task.done() and daemon is not None:
                daemon.stop()  # the server died: the daemon must not run unseen
            await daemon_task
        else:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, stop.set)
                    installed.append(signum)
            context.ready = True
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({stopping, serving}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await probing
        for task in list(context.background):
            task.cancel()
        sock.close()


async def _until_scheduled(daemon: Daemon, running: asyncio.Future[None]) -> None:
    """Wait until the daemon's scheduler runs (or the daemon ended early)."""
    while not running.done() and not daemon.alive:
        await asyncio.sleep(0.02)
