"""Building a zap: ``validate``, ``test-trigger`` and ``test-step`` (none of them moves a cursor)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.text import Text

from zaplite.cli.common import (
    console,
    echo_json,
    err_console,
    run_async,
    setup_logging,
    verbose_option,
    with_workspace,
    workspace_options,
)
from zaplite.engine.run import Engine
from zaplite.engine.trials import TriggerRecords, fetch_samples, try_step
from zaplite.errors import FileError
from zaplite.project.binding import template_warnings
from zaplite.project.connections import Connections
from zaplite.project.workspace import Workspace

__all__ = ["COMMANDS"]


@click.command()
@workspace_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@verbose_option
@with_workspace
def validate(workspace: Workspace, as_json: bool, verbose: int) -> None:
    """Check the config and every zap: schema, apps, params, connections, variables, templates (exit 2 on error)."""
    setup_logging(verbose)
    errors: list[str] = [str(problem) for problem in workspace.problems]
    connections = Connections(workspace.config, workspace.registry, vault=workspace.vault)
    for name in workspace.config.connections:
        try:
            connections.settings(name)
        except FileError as error:
            errors.append(str(error))
    warnings: list[str] = []
    for zap in workspace.zaps.values():
        warnings.extend(template_warnings(zap))
        if zap.trigger.instant and zap.zap.enabled and workspace.config.http.listen is None:
            warnings.append(
                f"{zap.file}: the trigger {zap.trigger.app}.{zap.trigger.name} is instant, "
                "but the HTTP server is not enabled ([http] listen is not set): messages "
                "reach the zap only while `zaplite run --http [HOST:]PORT` serves"
            )
    if as_json:
        echo_json({"zaps": sorted(workspace.zaps), "errors": errors, "warnings": warnings})
    else:
        for line in errors:
            err_console.print(Text.assemble(("Error:", "red"), " ", line))
        for line in warnings:
            err_console.print(Text.assemble(("Warning:", "yellow"), " ", line))
        if not errors:
            count = len(workspace.zaps)
            console.print(
                f"{count} zap(s) and {len(workspace.config.connections)} connection(s) are valid.",
                markup=False,
            )
    if errors:
        raise click.exceptions.Exit(2)


@click.command("test-trigger")
@workspace_options
@click.argument("zap_id")
@click.option(
    "--limit",
    default=3,
    show_default=True,
    type=click.IntRange(1, 100),
    help="How many recent records to fetch (1 to 100).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@verbose_option
@with_workspace
def test_trigger(
    workspace: Workspace, zap_id: str, limit: int, as_json: bool, verbose: int
) -> None:
    """Fetch up to --limit recent records the zap's trigger sees and keep them as samples."""
    setup_logging(verbose)
    zap = workspace.zap(zap_id)

    async def go() -> TriggerRecords:
        engine = Engine.for_workspace(workspace)
        try:
            return await fetch_samples(engine, zap, limit)
        finally:
            await engine.connections.close()

    found = run_async(go())
    records = found.records
    trigger = f"{zap.trigger.app}.{zap.trigger.name}"
    if as_json:
        echo_json(
            {
                "zap": zap_id,
                "trigger": trigger,
                "built_in_sample": found.built_in_sample,
                "records": records,
                **({"note": found.note} if found.note else {}),
            }
        )
        return
    if found.note:
        console.print(f"{found.note}.", style="yellow", markup=False)
    if found.built_in_sample:
        console.print(
            f"The trigger {trigger} cannot fetch real records; "
            + ("showing its built-in sample instead." if records else "it has no built-in sample."),
            style="yellow",
            markup=False,
        )
    elif not records:
        console.print(f"{trigger} found no records for {zap_id}.", markup=False)
    if not records:
        return
    source = f"the built-in sample of {trigger}" if found.built_in_sample else trigger
    for index, record in enumerate(records, 1):
        console.print(
            f"record {index} of {len(records)} from {source}:", style="bold", markup=False
        )
        console.print_json(json.dumps(record, default=str))
    if found.built_in_sample:
        console.print(
            f"Nothing was kept: `zaplite test-step {zap_id}` sends only real records "
            "(with --dry-run it maps this sample without sending it).",
            markup=False,
        )
        return
    console.print(
        f"Kept {len(records)} sample(s) for `zaplite test-step {zap_id}`. No cursor was moved.",
        markup=False,
    )


@click.command("test-step")
@workspace_options
@click.argument("zap_id")
@click.argument("step_id", required=False)
@click.option("--dry-run", is_flag=True, help="Only show the request; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@verbose_option
@with_workspace
def test_step(
    workspace: Workspace,
    zap_id: str,
    step_id: str | None,
    dry_run: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """Map a sample record into a step, show the request, send it (unless --dry-run) and show the response."""
    setup_logging(verbose)
    zap = workspace.zap(zap_id)

    async def go() -> dict[str, Any]:
        engine = Engine.for_workspace(workspace)
        try:
            return await try_step(engine, zap, step_id, dry_run=dry_run)
        finally:
            await engine.connections.close()

    report = run_async(go())
    if as_json:
        echo_json(report)
    else:
        console.print(
            f"Step {report['step']!r} of {zap_id}, mapped from {report['record_source']}.",
            markup=False,
        )
        for verdict in report["filters"]:
            word = "passes" if verdict["passed"] else "stops the record"
            console.print(
                f"Filter {verdict['step']!r} {word}: {verdict['reason']}.",
                style="green" if verdict["passed"] else "yellow",
                markup=False,
            )
        if report["status"] == "filtered":
            console.print(
                f"The zap stops at filter {report['stopped_at']!r} for this record: "
                f"step {report['step']!r} is not run, nothing was sent.",
                markup=False,
            )
            return
        if "request" in report:
            console.print("Request:", style="bold")
            console.print_json(json.dumps(report["request"], default=str))
        else:
            console.print("Params:", style="bold")
            console.print_json(json.dumps(report["params"], default=str))
        status = report["status"]
        if status == "dry-run":
            console.print("Dry run: nothing was sent.")
        elif status == "success":
            console.print("Response:", style="bold green")
            console.print_json(json.dumps(report.get("response"), default=str))
        else:
            err_console.print(f"The step failed: {report.get('error')}", markup=False)
    if report["status"] in ("failed", "invalid"):
        raise click.exceptions.Exit(1)


COMMANDS = [validate, test_trigger, test_step]
