"""``zaplite run`` (the daemon, or ``--once``) and ``zaplite resume``."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import TYPE_CHECKING

import click

from zaplite.cli.common import (
    console,
    err_console,
    http_listen,
    http_option,
    run_async,
    run_daemon,
    setup_logging,
    verbose_option,
    with_workspace,
    workspace_options,
)
from zaplite.cli.progress import RunProgress
from zaplite.engine.controls import pause_zap, resume_zap
from zaplite.engine.leases import daemon_owner
from zaplite.engine.run import Engine, RunResult
from zaplite.errors import UsageError
from zaplite.project.binding import BoundZap
from zaplite.project.durations import format_duration
from zaplite.project.workspace import Workspace

if TYPE_CHECKING:
    from zaplite.engine.budget import Pace
    from zaplite.engine.daemon import Daemon, Reload

__all__ = ["COMMANDS"]

_STYLE = {"ok": "green", "failed": "red", "paused": "yellow", "interrupted": "yellow"}


def show_result(result: RunResult) -> None:
    """Print one run's summary line."""
    style = _STYLE.get(result.outcome, "red")
    console.print(result.line(), style=style, markup=False)


def daemon_prints(result: RunResult) -> bool:
    """Whether the daemon prints a run's line: it found something, or did not end ok."""
    return bool(result.found) or result.status != "ok"


def show_daemon_result(result: RunResult) -> None:
    """The daemon's line for a run: only runs that found something, or did not end ok.

    A daemon with many zaps polls far more often than anything happens; the quiet polls
    are logged at INFO (``-v``, or ``[settings] log_file``) instead of printed.
    """
    if daemon_prints(result):
        show_result(result)


def _schedule_words(zap: BoundZap) -> str:
    schedule = zap.zap.schedule
    if schedule.every is not None:
        return f"every {format_duration(schedule.every)}"
    return f"on cron {schedule.cron!r} (UTC)"


class DaemonOutput:
    """What ``zaplite run`` prints of each run; after a zap's first run, when it polls next.

    Without it a person watching sees only the banner until something happens.
    """

    def __init__(self, zaps: dict[str, BoundZap]) -> None:
        self.zaps = zaps
        self.daemon: Daemon | None = None
        self._announced: set[str] = set()

    def __call__(self, result: RunResult) -> None:
        show_daemon_result(result)
        if result.zap_id in self._announced or self.daemon is None:
            return
        self._announced.add(result.zap_id)
        when = self.daemon.next_run_at(result.zap_id)
        zap = self.zaps.get(result.zap_id)
        if when is None or zap is None:
            return
        quiet = "" if daemon_prints(result) else "nothing new; "
        console.print(
            f"{result.zap_id}: {quiet}next poll at {when.astimezone(UTC):%H:%M:%S} UTC, "
            f"then {_schedule_words(zap)}.",
            markup=False,
        )


def show_reload(report: Reload) -> None:
    """Print what a reload of the zap files changed (problems on stderr)."""
    for line in report.lines():
        target = (
            err_console if line.startswith(("broken", "keeping")) or "keeping" in line else console
        )
        target.print(line, markup=False)


def show_pace(pace: Pace) -> None:
    """Print that a connection's polling slowed down for its API budget, or is back on schedule."""
    console.print(pace.line(), style="yellow" if pace.slowed else "", markup=False)


def _report_problems(workspace: Workspace) -> None:
    for problem in workspace.problems:
        err_console.print(f"[red]Skipped a broken zap:[/red] {problem}", markup=True)


@click.command()
@workspace_options
@click.option("--once", is_flag=True, help="Poll each zap once, deliver what was found, and exit.")
@verbose_option
@click.option(
    "--new-store",
    is_flag=True,
    help="Create an empty store even where one existed and is now missing "
    "(records it had delivered may be delivered again).",
)
@http_option
@click.argument("zap_ids", nargs=-1)
@with_workspace
def run(
    workspace: Workspace,
    once: bool,
    verbose: int,
    new_store: bool,
    http: tuple[str, int] | None,
    zap_ids: tuple[str, ...],
) -> None:
    """Run the zaps: as a daemon on their schedules, or once with --once (exit 1 if any task failed)."""
    workspace.new_store = new_store
    setup_logging(
        verbose,
        workspace.config.settings.log_file,
        workspace.config.path,
        printed=(lambda result: True) if once else daemon_prints,
    )
    if zap_ids and not once:
        raise UsageError("Naming zaps is only for `zaplite run --once ZAP_ID...`.")
    if once and http is not None:
        raise UsageError("--http serves the console of a daemon; it does not go with --once.")
    listen = http_listen(workspace, http) if not once else None
    _report_problems(workspace)
    if once:
        zaps = [workspace.zap(zap_id) for zap_id in zap_ids] or [
            zap for zap in workspace.zaps.values() if zap.zap.enabled
        ]
        if not zaps:
            raise UsageError(f"There are no enabled zaps in {workspace.config.settings.zaps_dir}.")
        workspace.check_connections(zaps)  # an unset ${VAR} is bad input, said before any poll
        workspace.store.check_writable()  # a read-only store is one clear error, not a loop
        with RunProgress(verbose) as progress:
            results = run_async(_run_once(workspace, zaps, progress))
        for result in results:
            show_result(result)
        if workspace.problems and not zap_ids:
            raise click.exceptions.Exit(2)  # the valid zaps ran; the broken files are bad input
        if any(r.status in ("failed", "paused") or r.failed for r in results):
            raise click.exceptions.Exit(1)
        return
    enabled = {k: v for k, v in workspace.zaps.items() if v.zap.enabled}
    if not enabled:
        raise UsageError(f"There are no enabled zaps in {workspace.config.settings.zaps_dir}.")
    workspace.check_connections(enabled.values())
    workspace.store.check_writable()
    from zaplite.engine.daemon import Daemon  # APScheduler: only the daemon needs it

    engine = Engine.for_workspace(workspace, owner=daemon_owner())
    output = DaemonOutput(enabled)
    daemon = Daemon(
        engine,
        enabled,
        on_result=output,
        reload=workspace.reload_zaps,
        watch=workspace.config.settings.zaps_dir,
        on_reload=show_reload,
        on_pace=show_pace,
    )
    output.daemon = daemon
    err_console.print(
        f"zaplite is running {len(enabled)} zap(s) with the store at "
        f"{workspace.store.url_for_display}; Ctrl-C stops it.",
        markup=False,
    )
    run_async(run_daemon(workspace, engine, daemon, listen))
    err_console.print("zaplite stopped cleanly.")


async def _run_once(
    workspace: Workspace, zaps: list, progress: RunProgress | None = None
) -> list[RunResult]:
    engine = Engine.for_workspace(workspace, owner=daemon_owner())
    if progress is not None:
        engine.on_page = progress.page
    try:
        return list(await asyncio.gather(*(engine.run_zap(zap) for zap in zaps)))
    finally:
        await engine.connections.close()


@click.command()
@workspace_options
@click.argument("zap_ids", nargs=-1, required=True)
@verbose_option
@with_workspace
def resume(workspace: Workspace, zap_ids: tuple[str, ...], verbose: int) -> None:
    """Resume zaps that were paused (by hand, or after repeated authentication failures)."""
    setup_logging(verbose)
    for zap_id in zap_ids:
        workspace.zap(zap_id)
        if resume_zap(workspace.store, zap_id):
            console.print(f"{zap_id}: resumed", markup=False)
        else:
            console.print(f"{zap_id} was not paused: nothing to resume.", markup=False)


@click.command()
@workspace_options
@click.argument("zap_ids", nargs=-1, required=True)
@verbose_option
@with_workspace
def pause(workspace: Workspace, zap_ids: tuple[str, ...], verbose: int) -> None:
    """Pause zaps until `zaplite resume`: every daemon sharing the store skips them."""
    setup_logging(verbose)
    for zap_id in zap_ids:
        workspace.zap(zap_id)
        pause_zap(workspace.store, zap_id, "from the command line")
        console.print(f"{zap_id}: paused", markup=False)


COMMANDS = [run, resume, pause]
