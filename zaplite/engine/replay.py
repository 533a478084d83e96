"""Replaying a stored task: its record taken through its zap's steps again."""

from __future__ import annotations

import asyncio

from zaplite.engine.delivery import Delivery, WorkItem
from zaplite.engine.run import Engine
from zaplite.errors import AuthError, QuotaExceeded, UsageError
from zaplite.project.binding import BoundZap
from zaplite.retry import is_transient

__all__ = ["replay_task"]


async def replay_task(engine: Engine, task_id: int, zaps: dict[str, BoundZap]) -> str:
    """Run a stored task's record through its zap's steps again; returns the new status.

    The task keeps its id and gets the new outcome, with one more attempt counted.
    """
    task = await asyncio.to_thread(engine.store.get_task, task_id)
    if task is None:
        raise UsageError(f"There is no task {task_id}.")
    zap = zaps.get(task.zap_id)
    if zap is None:
        raise UsageError(
            f"Task {task_id} belongs to zap {task.zap_id!r}, which is not loaded; "
            "restore its file to replay it."
        )
    item = WorkItem(key=task.record_key, record=task.record)
    try:
        await Delivery(zap, engine.connections, engine.policy).deliver([item])
    except (AuthError, QuotaExceeded) as error:
        item.status, item.error = "failed", str(error)
    except BaseException as error:
        if not is_transient(error):
            raise
        item.status, item.error = "failed", f"gave up after retries: {error}"
    await asyncio.to_thread(
        engine.store.update_task, task_id, status=item.status, steps=item.steps, error=item.error
    )
    return item.status or "success"
