"""Reading commands: ``apps``, ``connections [--test]`` and ``history``."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from pydantic import BaseModel
from rich.text import Text

from zaplite.cli.common import (
    console,
    echo_json,
    run_async,
    setup_logging,
    verbose_option,
    with_workspace,
    workspace_options,
)
from zaplite.errors import ZapliteError
from zaplite.project.connections import Connections
from zaplite.project.workspace import Workspace

__all__ = ["COMMANDS"]


def describe_params(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """Each field of a params or connection model: name, type, required, description."""
    if model is None:
        return []
    fields = []
    for name, info in model.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        fields.append(
            {
                "name": info.alias or name,
                "type": annotation.replace("typing.", ""),
                "required": info.is_required(),
                "description": info.description or "",
            }
        )
    return fields


def _params_text(model: type[BaseModel] | None) -> str:
    parts = []
    for field in describe_params(model):
        parts.append(field["name"] + ("" if field["required"] else "?"))
    return ", ".join(parts) or "-"


@click.command()
@workspace_options
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@verbose_option
@with_workspace(config_required=False)
def apps(workspace: Workspace, as_json: bool, verbose: int) -> None:
    """The installed apps, their triggers and actions, and each one's params."""
    setup_logging(verbose)
    registry = workspace.registry
    data = []
    for name in sorted(registry.apps):
        app = registry.apps[name]
        data.append(
            {
                "name": name,
                "label": app.label,
                "plugin": registry.owners.get(name),
                "connection": describe_params(app.connection),
                "triggers": [
                    {
                        "name": t.name,
                        "label": t.label,
                        "description": t.description,
                        "params": describe_params(t.params),
                    }
                    for t in app.triggers.values()
                ],
                "actions": [
                    {
                        "name": a.name,
                        "label": a.label,
                        "description": a.description,
                        "batch": a.perform_batch is not None,
                        "params": describe_params(a.params),
                    }
                    for a in app.actions.values()
                ],
            }
        )
    if as_json:
        echo_json(data)
        return
    if not data:
        console.print("No apps are installed.")
        return
    for app in data:
        plugin = f", from the plugin {app['plugin']}" if app["plugin"] else ""
        console.print(f"{app['name']} ({app['label']}){plugin}", style="bold", markup=False)
        for kind, key, models in (
            ("trigger", "triggers", registry.apps[app["name"]].triggers),
            ("action", "actions", registry.apps[app["name"]].actions),
        ):
            for item in app[key]:
                about = item["description"].splitlines()[0] if item["description"] else ""
                _print_wrapped(f"  {kind} {item['name']}" + (f": {about}" if about else ""), 4)
                params = _params_text(models[item["name"]].params)
                _print_wrapped(f"    params (? = optional): {params}", 6)


def _print_wrapped(text: str, indent: int) -> None:
    """``text`` wrapped to the terminal's width (its next lines indented), or whole when piped."""
    if not console.is_terminal:
        console.print(text, markup=False)
        return
    lines = textwrap.wrap(
        text, max(30, console.width), subsequent_indent=" " * indent, break_on_hyphens=False
    )
    for line in lines:
        console.print(line, markup=False)


def _api_budget(workspace: Workspace, pool: Connections, name: str) -> dict[str, Any] | None:
    """The connection's daily API allowance, its use, and zaplite's share of the last 24 h."""
    entry = workspace.config.connections[name]
    app = workspace.registry.apps.get(entry.app)
    client = pool.opened(name)
    if app is None or app.api_use is None or client is None:
        return None
    use = app.api_use(client)
    if not use.allowance:
        return None
    since = datetime.now(UTC) - timedelta(hours=24)
    return {
        "allowance": use.allowance,
        "used_24h": use.used,
        "zaplite_24h": workspace.store.api_calls_since(name, since),
        "budget": use.share,
    }


def _budget_text(budget: dict[str, Any]) -> str:
    allowance = budget["allowance"]
    used = budget["used_24h"]
    ours = budget["zaplite_24h"]
    text = f"daily API allowance {allowance:,}"
    if used is not None:
        text += f", {used:,} used in the last 24 h ({used / allowance:.1%})"
    text += (
        f", zaplite's share {ours:,} ({ours / allowance:.1%}); "
        f"its budget {budget['budget']:.0%} ({allowance * budget['budget']:,.0f} a day)"
    )
    return text


@click.command()
@workspace_options
@click.option("--test", "test_them", is_flag=True, help="Sign in with each connection.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@verbose_option
@with_workspace
def connections(workspace: Workspace, test_them: bool, as_json: bool, verbose: int) -> None:
    """The configured connections (secrets masked, and where each comes from); --test signs in."""
    setup_logging(verbose)
    pool = Connections(workspace.config, workspace.registry, vault=workspace.vault)
    rows = []
    for name, entry in workspace.config.connections.items():
        rows.append(
            {
                "name": name,
                "app": entry.app,
                "settings": pool.masked(name),
                "secrets": pool.sources(name),
            }
        )
    if test_them:

        async def go() -> None:
            try:
                for row in rows:
                    try:
                        row["test"] = {"ok": True, "message": await pool.test(row["name"])}
                    except ZapliteError as error:
                        row["test"] = {"ok": False, "message": str(error)}
                        continue
                    budget = await asyncio.to_thread(_api_budget, workspace, pool, row["name"])
                    if budget is not None:
                        row["api_budget"] = budget
                        row["test"]["message"] += "; " + _budget_text(budget)
            finally:
                await pool.close()

        run_async(go())
    if as_json:
        echo_json(rows)
    else:
        if not rows:
            console.print("No connections in zaplite.toml.", markup=False)
        for row in rows:
            settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
            sources = ", ".join(f"{k}: {v}" for k, v in row["secrets"].items()) or "none"
            console.print(f"{row['name']} (app {row['app']})", style="bold", markup=False)
            _print_wrapped(f"  settings: {settings or 'none'}", 4)
            _print_wrapped(f"  secrets from: {sources}", 4)
            if test_them:
                ok = row["test"]["ok"]
                _print_wrapped(
                    "  test: " + ("ok: " if ok else "FAILED: ") + row["test"]["message"], 4
                )
    if test_them and not all(row["test"]["ok"] for row in rows):
        raise click.exceptions.Exit(1)


def _no_tasks(status: str | None, zap_id: str | None) -> str:
    """What ``history`` says when nothing matches: what was asked for, not "no tasks yet"."""
    if status is None and zap_id is None:
        return "No tasks yet."
    what = f"No {status} tasks" if status else "No tasks"
    return what + (f" of zap {zap_id}." if zap_id else ".")


@click.command()
@workspace_options
@click.option("--zap", "zap_id", help="Only this zap's tasks.")
@click.option(
    "--status",
    type=click.Choice(["success", "failed", "filtered"]),
    help="Only tasks with this status.",
)
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="Show at most this many tasks, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON, with each task's steps.")
@verbose_option
@with_workspace
def history(
    workspace: Workspace,
    zap_id: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
    verbose: int,
) -> None:
    """The task history, newest first."""
    setup_logging(verbose)
    tasks = workspace.store.list_tasks(zap_id=zap_id, status=status, limit=limit)
    if as_json:
        echo_json(
            [
                {
                    "id": t.id,
                    "zap": t.zap_id,
                    "run": t.run_id,
                    "status": t.status,
                    "record_key": t.record_key,
                    "record": t.record,
                    "steps": t.steps,
                    "error": t.error,
                    "attempts": t.attempts,
                    "created_at": t.created_at.isoformat(),
                    "updated_at": t.updated_at.isoformat(),
                }
                for t in tasks
            ]
        )
        return
    statuses = {s.zap_id: s for s in workspace.store.list_statuses()}
    for zap in sorted({t.zap_id for t in tasks} | ({zap_id} if zap_id else set())):
        paused = statuses.get(zap)
        if paused and paused.paused_reason:
            console.print(f"{zap} is paused: {paused.paused_reason}", style="yellow", markup=False)
    if not tasks:
        console.print(_no_tasks(status, zap_id))
        return
    show_tasks(tasks)


def _record_shown(key: str) -> str:
    """A task's record as the history lists it: the record's id, without the change stamp."""
    return key.split("|", 1)[0]


def show_tasks(tasks: list[Any]) -> None:
    """One line per task, columns aligned, its error on an indented line below.

    It reads at 80 columns (nothing but the error is wide, and the error wraps under its
    task); piped, the same lines come without header or colours, one task per line plus
    its error line.
    """
    colours = {"success": "green", "failed": "red", "filtered": "yellow"}
    terminal = console.is_terminal
    id_width = max(4, *(len(str(t.id)) for t in tasks))
    zap_width = max(3, *(len(t.zap_id) for t in tasks))
    status_width = max(6, *(len(t.status) for t in tasks))
    if terminal:
        console.print("Task history, newest first (times in UTC):", style="bold", markup=False)
        console.print(
            f"{'task':>{id_width}}  {'when':<19}  {'status':<{status_width}}  "
            f"{'zap':<{zap_width}}  record",
            style="dim",
            markup=False,
        )
    indent = " " * (id_width + 2)
    for t in tasks:
        line = Text(f"{t.id:>{id_width}}  {t.created_at:%Y-%m-%d %H:%M:%S}  ")
        line.append(
            f"{t.status:<{status_width}}", style=colours.get(t.status, "") if terminal else ""
        )
        line.append(f"  {t.zap_id:<{zap_width}}  {_record_shown(t.record_key)}")
        if t.attempts > 1:
            line.append(f"  ({t.attempts} tries)")
        console.print(line)
        if t.error:
            if terminal:
                width = max(20, console.width - len(indent))
                for part in textwrap.wrap(t.error, width, break_on_hyphens=False) or [""]:
                    console.print(indent + part, markup=False, style="red")
            else:
                console.print(indent + t.error, markup=False)


COMMANDS = [apps, connections, history]
