"""The console's buttons: pause, resume, run now, replay one task or every failed task of a zap.

Each is a POST with the CSRF token and goes through the code the CLI uses
(:mod:`zaplite.engine.controls`, :func:`~zaplite.engine.replay.replay_task`, a run of
the engine), so ``zaplite history`` and ``zaplite run`` see its effect. Each answers
with a redirect back to the page, carrying one line saying what happened.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from zaplite.engine.controls import pause_zap, resume_zap
from zaplite.engine.replay import failed_task_ids, replay_task
from zaplite.project.binding import BoundZap
from zaplite.web.context import ServerContext
from zaplite.web.security import read_form

__all__ = ["pause", "replay_failed", "replay_one", "resume", "run_now"]

log = logging.getLogger("zaplite.web")


def _back(form: dict[str, str], fallback: str, message: str) -> Response:
    """Redirect to the page the form came from (a path on this server only), saying ``message``."""
    target = form.get("back", "")
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or "\\" in target or parts.netloc:
        parts = urlsplit(fallback)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "done"]
    query.append(("done", message))
    return RedirectResponse(f"{parts.path}?{urlencode(query)}", status_code=303)


def _zap(context: ServerContext, zap_id: str) -> BoundZap:
    zap = context.zaps.get(zap_id)
    if zap is None:
        raise HTTPException(404, f"The zap {zap_id!r} is not in this daemon's zap files.")
    return zap


async def pause(request: Request) -> Response:
    """Pause the zap (every daemon sharing the store skips it until it is resumed)."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    zap_id = request.path_params["zap_id"]
    _zap(context, zap_id)
    await asyncio.to_thread(
        pause_zap, context.store, zap_id, "from the console", context.engine.metrics
    )
    return _back(form, f"/zaps/{zap_id}", f"{zap_id}: paused")


async def resume(request: Request) -> Response:
    """Resume the zap."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    zap_id = request.path_params["zap_id"]
    _zap(context, zap_id)
    await asyncio.to_thread(resume_zap, context.store, zap_id, context.engine.metrics)
    return _back(form, f"/zaps/{zap_id}", f"{zap_id}: resumed")


def _in_background(context: ServerContext, coroutine: object, what: str) -> None:
    async def guarded() -> None:
        try:
            await coroutine  # type: ignore[misc]
        except Exception:
            log.exception("%s failed", what)

    task = asyncio.create_task(guarded())
    context.background.add(task)
    task.add_done_callback(context.background.discard)


async def run_now(request: Request) -> Response:
    """Run the zap now: its next tick in a daemon, else one run as ``zaplite run --once`` does."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    zap_id = request.path_params["zap_id"]
    zap = _zap(context, zap_id)
    if context.daemon is not None and context.daemon.run_now(zap_id):
        message = f"{zap_id}: runs now"
    else:
        _in_background(context, context.engine.run_zap(zap), f"running {zap_id}")
        message = f"{zap_id}: runs now, once"
    return _back(form, f"/zaps/{zap_id}", message)


async def replay_one(request: Request) -> Response:
    """Replay one task from its stored record, and show how it ended."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    task_id = request.path_params["task_id"]
    # The task page's Replay button is an explicit request, whatever the task's status.
    status = await replay_task(context.engine, task_id, context.zaps, force=True)
    task = await asyncio.to_thread(context.store.get_task, task_id)
    detail = f": {task.error}" if task is not None and task.error else ""
    return _back(form, f"/tasks/{task_id}", f"task {task_id}: {status}{detail}")


async def replay_failed(request: Request) -> Response:
    """Replay every failed task of the zap, oldest first, in the background."""
    context: ServerContext = request.app.state.zaplite
    form = await read_form(request)
    zap_id = request.path_params["zap_id"]
    _zap(context, zap_id)
    ids = await asyncio.to_thread(failed_task_ids, context.engine, zap_id)
    if not ids:
        return _back(form, f"/zaps/{zap_id}", f"{zap_id}: no failed tasks to replay")

    async def replay_all() -> None:
        for task_id in ids:
            await replay_task(context.engine, task_id, context.zaps)

    _in_background(context, replay_all(), f"replaying the failed tasks of {zap_id}")
    return _back(form, f"/zaps/{zap_id}", f"{zap_id}: replaying {len(ids)} failed task(s)")
