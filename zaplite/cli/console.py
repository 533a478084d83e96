"""``zaplite console``: the console over a store, without running any zap on a schedule."""

from __future__ import annotations

import click

from zaplite.cli.common import (
    err_console,
    http_listen,
    http_option,
    run_async,
    say_listening,
    setup_logging,
    verbose_option,
    with_workspace,
    workspace_options,
)
from zaplite.engine.leases import daemon_owner
from zaplite.engine.run import Engine
from zaplite.project.config import DEFAULT_HTTP_PORT
from zaplite.project.workspace import Workspace

__all__ = ["COMMANDS"]


@click.command()
@workspace_options
@http_option
@verbose_option
@with_workspace
def console(workspace: Workspace, http: tuple[str, int] | None, verbose: int) -> None:
    """Serve the console over the store without running zaps (history, replays, pauses).

    It listens on --http, else on [http] listen, else on 127.0.0.1:8642, until Ctrl-C.
    """
    from zaplite.web.server import serve

    setup_logging(verbose, workspace.config.settings.log_file, workspace.config.path)
    listen = http_listen(workspace, http) or ("127.0.0.1", DEFAULT_HTTP_PORT)
    engine = Engine.for_workspace(workspace, owner=daemon_owner())

    async def go() -> None:
        try:
            await serve(
                workspace,
                engine,
                listen,
                token=workspace.config.http.token,
                on_listening=say_listening,
            )
        finally:
            await engine.connections.close()

    err_console.print(
        f"Console only: no zap runs here; the store is {workspace.store.url_for_display}. "
        "Ctrl-C stops it.",
        markup=False,
    )
    run_async(go())


COMMANDS = [console]
