"""``zaplite sandbox`` (local emulators with seeded data) and ``zaplite demo`` (the main job, end to end)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from zaplite.cli.common import (
    console,
    err_console,
    http_listen,
    http_option,
    run_daemon,
    setup_logging,
    verbose_option,
)
from zaplite.cli.sandbox_records import FOLDER_KEY, SANDBOX_COMMANDS
from zaplite.engine.gctune import tune_after_startup
from zaplite.engine.leases import daemon_owner
from zaplite.engine.run import Engine, RunResult
from zaplite.errors import UsageError
from zaplite.project.config import read_user_file
from zaplite.project.examples import copy_example_zaps
from zaplite.project.workspace import Workspace
from zaplite.project.zapfile import Schedule
from zaplite.store.fileguard import marker_path

if TYPE_CHECKING:  # the emulators are imported by the two commands only, not by every command
    from zaplite.sandbox.activity import SalesActivity
    from zaplite.sandbox.session import Sandbox

__all__ = ["COMMANDS"]

MARKER = "# zaplite config for the local sandbox"


def _prepare_folder(folder: Path) -> list[Path]:
    """Make ``folder`` ours: new, empty, or one a previous sandbox/demo wrote (its store is reset).

    Returns the store files it removed.
    """
    config = folder / "zaplite.toml"
    removed: list[Path] = []
    if folder.exists() and any(folder.iterdir()):
        if not config.exists() or not read_user_file(
            config, str(config), "configuration file"
        ).startswith(MARKER):
            raise UsageError(
                f"{folder}: the folder exists and was not made by `zaplite sandbox` or "
                "`zaplite demo`; name another with --dir."
            )
        for stale in sorted(folder.glob("zaplite.db*")):
            stale.unlink()  # the emulators start afresh, so must the cursors
            removed.append(stale)
        marker_path(folder / "zaplite.db").unlink(missing_ok=True)  # a new store, on purpose
    folder.mkdir(parents=True, exist_ok=True)
    return removed


@contextlib.contextmanager
def _signals_stop(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` while inside (set before saying Ctrl-C stops it)."""

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@click.group(invoke_without_command=True)
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("zaplite-sandbox"),
    show_default=True,
    help="Where to write the config and the example zaps.",
)
@click.option(
    "--salesforce-port",
    default=8081,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the Salesforce emulator; 0 for any free port.",
)
@click.option(
    "--clevertap-port",
    default=8082,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the CleverTap emulator; 0 for any free port.",
)
@click.option("--activity", is_flag=True, help="Keep creating and changing records.")
@click.option(
    "--every",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="Seconds between activity rounds (0.5 or more).",
)
@click.option(
    "--outbound",
    "outbound",
    metavar="URL",
    default=None,
    help=(
        "Send an outbound message for each new contact to URL (retried until acknowledged); "
        "'daemon' means the instant example zap on `zaplite run --http 127.0.0.1:8642`."
    ),
)
@verbose_option
@click.pass_context
def sandbox(
    ctx: click.Context,
    folder: Path,
    salesforce_port: int,
    clevertap_port: int,
    activity: bool,
    every: float,
    outbound: str | None,
    verbose: int,
) -> None:
    """Start local emulators of Salesforce and CleverTap with seeded data, for trying zaps without accounts.

    With a command (in another terminal), change the running sandbox's Salesforce:
    `zaplite sandbox add contact --email ada@example.com --last-name Lovelace`,
    `zaplite sandbox list opportunities`, `zaplite sandbox stage ID "Closed Won"`,
    `zaplite sandbox import contacts 20000`.
    """
    from zaplite.sandbox.activity import SalesActivity
    from zaplite.sandbox.session import SANDBOX_OUTBOUND_TOKEN, Sandbox

    if ctx.invoked_subcommand is not None:
        ctx.meta[FOLDER_KEY] = folder
        return
    setup_logging(verbose)

    removed = _prepare_folder(folder)
    with Sandbox.start(salesforce_port=salesforce_port, clevertap_port=clevertap_port) as box:
        config, written = box.write_config_unless_edited(folder)
        zaps = folder / "zaps"
        zaps_kept = zaps.exists()
        if not zaps_kept:
            copy_example_zaps(zaps, outbound_token=SANDBOX_OUTBOUND_TOKEN)
        if outbound is not None:
            url = box.outbound_url() if outbound == "daemon" else outbound
            if not url.startswith(("http://", "https://")):
                raise UsageError(f"--outbound {outbound}: give an http(s) URL, or 'daemon'.")
            box.send_outbound_messages(url)
            console.print(f"Outbound messages for new contacts go to {url}", markup=False)
        seeded = ", ".join(f"{n} {obj}" for obj, n in box.seeded.items())
        for name, asked, server in (
            ("Salesforce", salesforce_port, box.salesforce_server),
            ("CleverTap", clevertap_port, box.clevertap_server),
        ):
            if asked and server.port != asked:
                err_console.print(
                    f"Port {asked} is busy: the {name} emulator is on port {server.port} instead.",
                    style="yellow",
                    markup=False,
                )
        console.print(f"Salesforce emulator: {box.salesforce_server.url}  ({seeded})", markup=False)
        console.print(f"CleverTap emulator:  {box.clevertap_server.url}", markup=False)
        if written:
            console.print(f"Wrote {config} for these emulators.", markup=False)
        else:
            console.print(
                f"Kept {config}: it was edited since a sandbox wrote it. Check that it points "
                f"at {box.salesforce_server.url} and {box.clevertap_server.url}.",
                style="yellow",
                markup=False,
            )
        if zaps_kept:
            console.print(f"Kept the zaps in {zaps}.", markup=False)
        else:
            console.print(f"Wrote the example zaps in {zaps}.", markup=False)
        if removed:
            names = ", ".join(path.name for path in removed)
            console.print(
                f"Removed the old store ({names}): the emulators start afresh, so do the cursors.",
                markup=False,
            )
        stop = threading.Event()
        with _signals_stop(stop):
            console.print(f"In another terminal: cd {folder} && zaplite run", markup=False)
            console.print("Ctrl-C stops the sandbox.", markup=False)
            if activity:
                generator = SalesActivity(box.salesforce)

                def loop() -> None:
                    while not stop.wait(every):
                        for line in generator.tick():
                            console.print(f"  salesforce: {line}", markup=False)

                threading.Thread(target=loop, name="sandbox-activity", daemon=True).start()
            while not stop.wait(0.2):
                pass
    console.print("Sandbox stopped.")


# ---------------------------------------------------------------------------- demo


def _results_table(results: list[RunResult], title: str) -> Table:
    table = Table(title=title)
    for column in ("zap", "new", "delivered", "filtered", "failed", "status"):
        table.add_column(
            column,
            justify="right" if column in ("new", "delivered", "filtered", "failed") else "left",
        )
    for r in results:
        table.add_row(
            r.zap_id, str(r.found), str(r.delivered), str(r.filtered), str(r.failed), r.status
        )
    return table


async def _run_all(workspace: Workspace, engine: Any) -> list[RunResult]:
    zaps = [z for z in workspace.zaps.values() if z.zap.enabled]
    return list(await asyncio.gather(*(engine.run_zap(zap) for zap in zaps)))


def _activity_round(activity: SalesActivity, box: Sandbox) -> list[str]:
    lines = []
    for _ in range(3):
        contact = activity.new_contact()
        lines.append(
            f"new contact {contact['FirstName']} {contact['LastName']} <{contact['Email']}>"
        )
    for _ in range(3):
        lead = activity.advance_lead()
        if lead:
            lines.append(f"lead {lead['FirstName']} {lead['LastName']} → {lead['Status']}")
    for _ in range(3):
        deal = activity.advance_opportunity()
        if deal:
            lines.append(f"deal {deal['Name']} → {deal['StageName']}")
    for _ in range(2):
        deal = activity.advance_opportunity(win=True)
        if deal:
            lines.append(
                f"deal {deal['Name']} → {deal['StageName']} (${deal.get('Amount', 0):,.0f})"
            )
    lines.extend(activity.opened_deals())  # deals opened as others closed: every record is listed
    return lines


def _summary(box: Sandbox, workspace: Workspace) -> None:
    counts = workspace.store.count_tasks()
    ct = box.clevertap
    console.print()
    console.print("[bold]What was delivered[/bold]")
    console.print(
        f"CleverTap (emulator at {box.clevertap_server.url}): {len(ct.profiles)} profiles, "
        f"{len(ct.events)} events, in {ct.upload_count} upload requests.",
        markup=False,
    )
    deal_events = [e for e in ct.events if e.get("evtName") == "Deal Closed"]
    if deal_events:
        event = deal_events[-1]
        console.print(f'  latest "Deal Closed" event for {event.get("identity")}:', markup=False)
        console.print_json(data=event.get("evtData", {}))
    staged = [p for p in ct.profiles.values() if "Deal Stage" in p.get("profileData", {})]
    if staged:
        profile = staged[-1]
        console.print(
            f"  a profile updated with its deal stage ({profile.get('identity')}):", markup=False
        )
        console.print_json(data=profile.get("profileData", {}))
    console.print(
        f"History in {workspace.store.url_for_display}: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
        markup=False,
    )


def _demo_prints(result: RunResult) -> bool:
    """Whether the demo shows a run itself (so ``-v`` does not log it a second time)."""
    return bool(result.found) or result.status != "ok"


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("zaplite-demo"),
    show_default=True,
    help="The working folder: config, zaps and the SQLite store go here and nowhere else.",
)
@click.option(
    "--keep-running", is_flag=True, help="Then stay up as a daemon with sandbox activity."
)
@click.option(
    "--every",
    default=3.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="Seconds between polls and activity with --keep-running (0.5 or more).",
)
@verbose_option
@http_option
def demo(
    folder: Path, keep_running: bool, every: float, verbose: int, http: tuple[str, int] | None
) -> None:
    """The main job on the embedded default: the three use cases against the built-in sandbox."""
    from zaplite.sandbox.session import SANDBOX_OUTBOUND_TOKEN, Sandbox

    setup_logging(verbose, printed=_demo_prints)  # its lines and table show the runs
    if http is not None and not keep_running:
        raise UsageError("--http serves the console of the running demo: add --keep-running.")
    _prepare_folder(folder)
    with Sandbox.start(salesforce_port=0, clevertap_port=0) as box:
        config = box.write_config(folder)
        copy_example_zaps(folder / "zaps", outbound_token=SANDBOX_OUTBOUND_TOKEN)
        console.rule("[bold]zaplite demo[/bold]")
        seeded = ", ".join(f"{n} {obj}" for obj, n in box.seeded.items())
        console.print(f"Salesforce sandbox at {box.salesforce_server.url} ({seeded})", markup=False)
        console.print(f"CleverTap sandbox at {box.clevertap_server.url}", markup=False)
        console.print(
            f"Working folder {folder.resolve()} (config {config.name}, zaps/, zaplite.db)",
            markup=False,
        )
        workspace = Workspace.load(config)
        tune_after_startup()
        try:
            if workspace.problems:
                raise UsageError(str(workspace.problems[0]))
            if http is not None:
                http_listen(workspace, http)  # a non-loopback address needs a token
            asyncio.run(_demo(box, workspace, keep_running, every, http))
        finally:
            workspace.close()


async def _demo(
    box: Sandbox,
    workspace: Workspace,
    keep_running: bool,
    every: float,
    http: tuple[str, int] | None = None,
) -> None:
    from zaplite.sandbox.activity import SalesActivity

    engine = Engine.for_workspace(workspace, owner=daemon_owner())
    activity = SalesActivity(box.salesforce, seed=42)
    try:
        console.print()
        with console.status("Turning the zaps on (their first poll starts from now)…"):
            baseline = await _run_all(workspace, engine)
        for r in baseline:
            console.print(
                f"  [green]on[/green]  {r.zap_id}: {workspace.zaps[r.zap_id].zap.name}",
                highlight=False,
            )
        results = await _activity_and_delivery(box, workspace, engine, activity)
        console.print(_results_table(results, "Delivered by each zap"))
        _summary(box, workspace)
        failed = [r for r in results if r.status != "ok"]
        for r in failed:
            err_console.print(r.line(), markup=False)
        if not keep_running:
            await engine.connections.close()
            console.print()
            console.print(
                "Next: `zaplite demo --keep-running` runs this as a daemon with live activity; "
                "`zaplite sandbox` keeps the emulators up for your own zaps.",
                markup=False,
            )
            if failed:
                raise UsageError("Some zaps failed in the demo; see the lines above.")
            return
        await _keep_running(box, workspace, engine, activity, every, http)
    finally:
        await engine.connections.close()


async def _activity_and_delivery(
    box: Sandbox, workspace: Workspace, engine: Any, activity: SalesActivity
) -> list[RunResult]:
    """One round of sales activity, then every zap run once.

    Meanwhile the demo serves the instant zap's endpoint on a loopback port, and the
    Salesforce emulator sends it an outbound message for each new contact: the messages
    are stored (and acknowledged) as they arrive, and the instant zap's run delivers them.
    """
    from zaplite.sandbox.session import OUTBOUND_ZAP, SANDBOX_OUTBOUND_TOKEN
    from zaplite.web.server import serve

    results: list[RunResult] = []

    async def round_and_runs() -> None:
        console.print()
        console.print("[bold]Sales activity in Salesforce[/bold]")
        for line in await asyncio.to_thread(_activity_round, activity, box):
            console.print(f"  {line}", markup=False)
        await asyncio.to_thread(box.salesforce.outbound.wait_idle, 30.0)
        console.print()
        with console.status("Polling Salesforce and delivering to CleverTap…"):
            results.extend(await _run_all(workspace, engine))

    def listening(url: str) -> None:
        hook = f"{url}hooks/salesforce/{OUTBOUND_ZAP}?token={SANDBOX_OUTBOUND_TOKEN}"
        if OUTBOUND_ZAP in workspace.zaps:
            box.send_outbound_messages(hook)

    try:
        await serve(
            workspace,
            engine,
            ("127.0.0.1", 0),
            token=None,
            running=round_and_runs(),
            on_listening=listening,
        )
    finally:
        for registration in list(box.salesforce.outbound.registrations):
            box.salesforce.outbound.unregister(registration)
    return results


async def _keep_running(
    box: Sandbox,
    workspace: Workspace,
    engine: Any,
    activity: SalesActivity,
    every: float,
    http: tuple[str, int] | None = None,
) -> None:
    for zap in workspace.zaps.values():
        zap.zap.schedule = Schedule(every=timedelta(seconds=every))

    def show(result: RunResult) -> None:
        if result.found or result.status != "ok":
            console.print(result.line(), markup=False)

    from zaplite.engine.daemon import Daemon

    daemon = Daemon(engine, workspace.zaps, on_result=show)
    if http is not None:  # new contacts also come as outbound messages, to the instant zap
        from zaplite.sandbox.session import OUTBOUND_ZAP, SANDBOX_OUTBOUND_TOKEN

        host, port = http
        reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        reach = f"[{reach}]" if ":" in reach else reach
        box.send_outbound_messages(
            f"http://{reach}:{port}/hooks/salesforce/{OUTBOUND_ZAP}?token={SANDBOX_OUTBOUND_TOKEN}"
        )
    console.print()
    console.print(
        f"Running as a daemon: polls every {every:g} s, Salesforce activity every {every:g} s. Ctrl-C stops.",
        markup=False,
    )

    async def generate() -> None:
        while True:
            await asyncio.sleep(every)
            for line in await asyncio.to_thread(activity.tick):
                console.print(f"  salesforce: {line}", markup=False)

    generator = asyncio.create_task(generate())
    try:
        await run_daemon(workspace, engine, daemon, http)
    finally:
        generator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await generator
    _summary(box, workspace)
    console.print("Stopped cleanly.")


for _command in SANDBOX_COMMANDS:
    sandbox.add_command(_command)

COMMANDS = [sandbox, demo]
