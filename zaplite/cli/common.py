"""What the commands share: the workspace options, loading, output and error display."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import stat
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from zaplite.cli.plugins import plugin_choice
from zaplite.engine.gctune import tune_after_startup
from zaplite.errors import FileError, UsageError
from zaplite.project.config import find_config, parse_listen
from zaplite.project.workspace import Workspace

if TYPE_CHECKING:
    from zaplite.engine.daemon import Daemon
    from zaplite.engine.run import Engine

__all__ = [
    "QUIET_LOGGERS",
    "console",
    "echo_json",
    "err_console",
    "http_listen",
    "http_option",
    "load_workspace",
    "require_config",
    "run_async",
    "run_daemon",
    "say_listening",
    "setup_logging",
    "verbose_option",
    "workspace_options",
]

QUIET_LOGGERS = ("apscheduler", "httpx", "httpcore")
"""Libraries' loggers that :func:`setup_logging` limits to warnings."""

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def workspace_options(function: F) -> F:
    """Add ``--config``, ``--zaps`` and ``--plugins-dir`` to a command."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="ZAPLITE_CONFIG",
            help="The config file (default: ./zaplite.toml).",
        ),
        click.option(
            "--zaps",
            "zaps_dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="The folder of zap files (default: zaps/ beside the config file).",
        ),
        click.option(
            "--plugins-dir",
            type=click.Path(path_type=Path, file_okay=False),
            envvar="ZAPLITE_PLUGINS_DIR",
            help="A folder of plugin modules (*.py) to load.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


verbose_option = click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more: -v info, -vv debug (warnings are always shown).",
)
"""``-v``/``-vv``, the same on every command."""


def _listen_value(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_listen(value)
    except ValueError as error:
        raise UsageError(f"--http: {error}.") from None


http_option = click.option(
    "--http",
    metavar="[HOST:]PORT",
    callback=_listen_value,
    help="Serve the console, /metrics, /healthz and /readyz here (default host 127.0.0.1; "
    "[http] listen in zaplite.toml does the same).",
)
"""``--http [HOST:]PORT``: where the console listens (parsed to ``(host, port)``)."""


def http_listen(workspace: Workspace, flag: tuple[str, int] | None) -> tuple[str, int] | None:
    """Where to serve the console: ``--http``, else ``[http] listen``; checked for a token.

    A non-loopback address without ``[http] token`` is refused before anything starts.
    """
    from zaplite.web.server import check_listen

    http = workspace.config.http
    file = str(workspace.config.path) if workspace.config.path else None
    if flag is not None:
        check_listen(flag, http.token, where="--http", file=file)
        return flag
    if http.listen is not None:
        check_listen(http.listen, http.token, where="http.listen", file=file)
    return http.listen


def say_listening(url: str) -> None:
    """Print where the console is served."""
    err_console.print(f"The console is at {url} (/metrics, /healthz, /readyz).", markup=False)


async def run_daemon(
    workspace: Workspace, engine: Engine, daemon: Daemon, listen: tuple[str, int] | None
) -> None:
    """Run the daemon until it stops, serving the console on ``listen`` when it is given."""
    if listen is None:
        await daemon.run()
        return
    from zaplite.web.server import serve

    await serve(
        workspace,
        engine,
        listen,
        token=workspace.config.http.token,
        daemon=daemon,
        running=daemon.run(),
        on_listening=say_listening,
    )


def load_workspace(
    config_path: Path | None, zaps_dir: Path | None, plugins_dir: Path | None
) -> Workspace:
    """Load the workspace the options point at, with the plugins the command line chose."""
    choice = plugin_choice()
    return Workspace.load(
        config_path,
        zaps_dir=zaps_dir,
        plugins_dir=plugins_dir,
        plugins=choice.objects,
        entry_points=choice.entry_points,
    )


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run(coroutine)


def setup_logging(
    verbose: int = 0,
    log_file: Path | None = None,
    config_file: Path | None = None,
    *,
    printed: Callable[[Any], bool] | None = None,
) -> None:
    """Log zaplite's messages to stderr (INFO with -v, DEBUG with -vv; warnings always).

    With ``log_file`` (``[settings] log_file``), INFO and above also go to that file,
    reopened if logrotate moves it. ``printed(result)`` says which runs' summary lines
    the command prints itself: those are not logged to stderr a second time.
    """
    from logging.handlers import WatchedFileHandler

    from rich.logging import RichHandler

    from zaplite.engine.run import RESULT_ATTRIBUTE

    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=err_console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setLevel(level)
    if printed is not None:
        shown = printed

        def not_printed(record: logging.LogRecord) -> bool:
            result = getattr(record, RESULT_ATTRIBUTE, None)
            return result is None or not shown(result)

        handler.addFilter(not_printed)
    handlers: list[logging.Handler] = [handler]
    if log_file is not None:
        try:
            _check_no_reader_blocks(log_file)
            to_file = WatchedFileHandler(log_file, encoding="utf-8")
        except OSError as error:
            raise FileError(
                str(config_file) if config_file else None,
                "settings.log_file",
                f"cannot write {log_file} ({error.strerror or error})",
            ) from None
        to_file.setLevel(min(level, logging.INFO))
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(to_file)
    root = logging.getLogger("zaplite")
    for old in root.handlers:
        old.close()
    root.handlers[:] = handlers
    root.setLevel(min(h.level for h in handlers))
    root.propagate = False
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _check_no_reader_blocks(path: Path) -> None:
    """Refuse a log file that is a pipe nobody reads: opening it would wait forever.

    A pipe with a reader (``/dev/stdout`` under a supervisor, say) and every other kind of
    file go on to be opened as usual.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing: the handler creates it, or says why it cannot
    if not stat.S_ISFIFO(mode):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
    except OSError as error:
        raise OSError(error.errno, "a named pipe that no process reads") from None


def require_config(config_path: Path | None) -> None:
    """Refuse, before anything is created, to work on a folder without a ``zaplite.toml``."""
    if find_config(config_path) is None:
        raise UsageError(
            f"No zaplite.toml in {Path.cwd()}: name one with --config FILE (or ZAPLITE_CONFIG), "
            "or run `zaplite sandbox` for one that points at local emulators."
        )


def with_workspace(
    function: Callable[..., Any] | None = None, *, config_required: bool = True
) -> Any:
    """Decorator: load the workspace from the options and close it after the command.

    A command that works on a project (``config_required``, the default) is refused in
    a folder without ``zaplite.toml``, before anything (a store) is created there.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(
            config_path: Path | None, zaps_dir: Path | None, plugins_dir: Path | None, **kwargs: Any
        ) -> Any:
            if config_required:
                require_config(config_path)
            workspace = load_workspace(config_path, zaps_dir, plugins_dir)
            tune_after_startup()
            try:
                return command(workspace, **kwargs)
            finally:
                workspace.close()

        return wrapper

    return decorate(function) if function is not None else decorate
