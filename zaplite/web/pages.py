"""The console's pages: the zaps, one zap, one task, the connections.

Pages only read. Store reads run in worker threads, so a slow page never holds up the
scheduler on the event loop. Every list pages by key (zap id, task id), never by offset.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from zaplite.plugin.api import ActionContext
from zaplite.plugin.calls import call
from zaplite.project.binding import BoundZap
from zaplite.project.connections import Connections
from zaplite.store import TASK_STATUSES, ZapActivity
from zaplite.store.overview import ConnectionStatus
from zaplite.web.context import ServerContext
from zaplite.web.describe import schedule_text, steps_in_words
from zaplite.web.render import render

__all__ = ["ZAPS_PER_PAGE", "connections_page", "task_page", "zap_page", "zaps_page"]

log = logging.getLogger("zaplite.web")

ZAPS_PER_PAGE = 50
"""Zaps per page of the Zaps page (keyset: the next page starts after the last id shown)."""
TASKS_PER_PAGE = 50
RUNS_SHOWN = 20


def _context(request: Request) -> ServerContext:
    return request.app.state.zaplite


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise HTTPException(400, f"{name} must be a whole number")
    return int(value)


@dataclass
class ZapRow:
    """One line of the Zaps page."""

    id: str
    name: str
    state: str
    """on, off, paused, or unknown (in the store, not in this daemon's zap files)."""
    state_detail: str
    schedule: str
    activity: ZapActivity
    next_run: datetime | None
    runner: str


def _state(zap: BoundZap | None, activity: ZapActivity) -> tuple[str, str]:
    if activity.paused_reason:
        return "paused", activity.paused_reason
    if zap is None:
        return "unknown", "not in this daemon's zap files"
    if not zap.zap.enabled:
        return "off", '"enabled": false in its zap file'
    return "on", ""


def _runner(context: ServerContext, activity: ZapActivity) -> str:
    owner = activity.lease_owner
    if owner is None:
        return ""
    if owner == context.engine.owner:
        return "this process"
    return owner


def _rows(context: ServerContext, ids: list[str], activity: dict[str, ZapActivity]) -> list[ZapRow]:
    zaps = context.zaps
    rows = []
    for zap_id in ids:
        zap = zaps.get(zap_id)
        state, detail = _state(zap, activity[zap_id])
        rows.append(
            ZapRow(
                id=zap_id,
                name=zap.zap.name if zap else "",
                state=state,
                state_detail=detail,
                schedule=schedule_text(zap.zap.schedule) if zap else "",
                activity=activity[zap_id],
                next_run=context.next_run_at(zap_id) if state == "on" else None,
                runner=_runner(context, activity[zap_id]),
            )
        )
    return rows


async def zaps_page(request: Request) -> Response:
    """Every zap: state, schedule, last and next run, tasks of the last 24 hours, a chart."""
    context = _context(request)
    after = request.query_params.get("after", "")[:200]
    known = await asyncio.to_thread(context.store.known_zap_ids)
    every = sorted(set(context.zaps) | known)
    shown = (
        [zap_id for zap_id in every if zap_id > after][:ZAPS_PER_PAGE]
        if after
        else every[:ZAPS_PER_PAGE]
    )
    now = datetime.now(UTC)
    activity = await asyncio.to_thread(context.store.zap_activity, shown, now=now)
    rows = _rows(context, shown, activity)
    more = bool(shown) and shown[-1] != every[-1]
    template = "zaps_table.html" if request.headers.get("x-zaplite-partial") else "zaps.html"
    return render(
        request,
        template,
        rows=rows,
        total=len(every),
        after=after,
        next_after=shown[-1] if more else None,
        last_hour=now.replace(minute=0, second=0, microsecond=0),
        now=now,
        title="Zaps",
    )


def _zap_or_404(context: ServerContext, zap_id: str, known: set[str]) -> BoundZap | None:
    zap = context.zaps.get(zap_id)
    if zap is None and zap_id not in known:
        raise HTTPException(404, f"There is no zap {zap_id!r}.")
    return zap


async def zap_page(request: Request) -> Response:
    """One zap: its trigger and steps in words, its runs, its tasks (filtered, searched, paged)."""
    context = _context(request)
    zap_id = request.path_params["zap_id"]
    status = request.query_params.get("status") or None
    if status is not None and status not in TASK_STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(TASK_STATUSES)}")
    record = request.query_params.get("record", "").strip()[:300]
    before, after = _int(request, "before"), _int(request, "after")
    known = await asyncio.to_thread(context.store.known_zap_ids)
    zap = _zap_or_404(context, zap_id, known)
    now = datetime.now(UTC)

    def read() -> tuple[Any, ...]:
        store = context.store
        activity = store.zap_activity([zap_id], now=now)[zap_id]
        runs = store.page_runs(zap_id, limit=RUNS_SHOWN)
        if record:
            tasks = store.search_tasks(zap_id, record, limit=TASKS_PER_PAGE)
        else:
            tasks = store.page_tasks(
                zap_id, status=status, before_id=before, after_id=after, limit=TASKS_PER_PAGE + 1
            )
        return activity, runs, tasks

    activity, runs, tasks = await asyncio.to_thread(read)
    older = newer = None
    if not record:
        if after is not None:  # came back from an older page: there is a newer one if full
            full = len(tasks) > TASKS_PER_PAGE
            tasks = tasks[-TASKS_PER_PAGE:] if full else tasks
            newer = tasks[0].id if full and tasks else None
            older = tasks[-1].id if tasks else None
        else:
            full = len(tasks) > TASKS_PER_PAGE
            tasks = tasks[:TASKS_PER_PAGE]
            older = tasks[-1].id if full and tasks else None
            newer = tasks[0].id if before is not None and tasks else None
    state, detail = _state(zap, activity)
    return render(
        request,
        "zap.html",
        zap_id=zap_id,
        zap=zap,
        words=steps_in_words(zap, context.workspace.registry) if zap else None,
        schedule=schedule_text(zap.zap.schedule) if zap else "",
        state=state,
        state_detail=detail,
        activity=activity,
        runner=_runner(context, activity),
        next_run=context.next_run_at(zap_id) if state == "on" else None,
        runs=runs,
        tasks=tasks,
        status=status or "",
        record=record,
        older=older,
        newer=newer,
        statuses=TASK_STATUSES,
        last_hour=now.replace(minute=0, second=0, microsecond=0),
        now=now,
        title=zap_id,
    )


async def _request_preview(
    context: ServerContext, zap: BoundZap | None, step: dict[str, Any]
) -> Any:
    """The request the step's stored params make, as the action's preview shows it (secrets masked)."""
    if zap is None:
        return None
    bound = next((s for s in zap.steps if s.id == step.get("id") and not s.is_filter), None)
    if bound is None or bound.action is None or bound.action.preview_request is None:
        return None
    if not isinstance(step.get("input"), dict):
        return None
    try:
        params = bound.action.params.model_validate(step["input"])
        ctx = ActionContext(
            zap_id=zap.id,
            step_id=bound.id,
            connection=await context.engine.connections.get(bound.connection),
            log=log,
        )
        return await call(bound.action.preview_request, ctx, [params])
    except Exception as error:  # a preview is a courtesy; the stored params are shown anyway
        return {"preview unavailable": f"{type(error).__name__}: {error}"}


async def task_page(request: Request) -> Response:
    """One task: the record, each step's params, request, response and error, and Replay."""
    context = _context(request)
    task_id = request.path_params["task_id"]
    task = await asyncio.to_thread(context.store.get_task, task_id)
    if task is None:
        raise HTTPException(404, f"There is no task {task_id}.")
    zap = context.zaps.get(task.zap_id)
    steps = []
    for step in task.steps:
        if not isinstance(step, dict):
            continue
        steps.append(
            {
                "id": step.get("id", "?"),
                "status": step.get("status", ""),
                "filter": "reason" in step or "input" not in step,
                "reason": step.get("reason"),
                "input": step.get("input"),
                "output": step.get("output"),
                "error": step.get("error"),
                "request": await _request_preview(context, zap, step),
            }
        )
    return render(
        request,
        "task.html",
        task=task,
        steps=steps,
        zap_loaded=zap is not None,
        title=f"Task {task.id}",
    )


async def connections_page(request: Request) -> Response:
    """Each connection: its settings (secrets masked, and where each comes from), last sign-in, errors, usage."""
    context = _context(request)
    statuses: dict[str, ConnectionStatus] = await asyncio.to_thread(
        context.store.connection_statuses
    )
    pool = Connections(
        context.workspace.config, context.workspace.registry, vault=context.workspace.vault
    )
    names = list(context.workspace.config.connections)
    sources = await asyncio.to_thread(lambda: {name: pool.sources(name) for name in names})
    # This daemon's pace of each connection (zaplite.engine.budget): slowed for its budget?
    paces = context.engine.budgets.paces
    rows = []
    for name, entry in context.workspace.config.connections.items():
        rows.append(
            {
                "name": name,
                "app": entry.app,
                "settings": pool.masked(name),
                "sources": sources[name],
                "status": statuses.get(name),
                "pace": paces.get(name),
            }
        )
    return render(request, "connections.html", rows=rows, title="Connections")
