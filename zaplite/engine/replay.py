"""Replaying a stored task: its record taken through its zap's steps again."""

from __future__ import annotations

import asyncio

from zaplite.engine.delivery import Delivery, WorkItem
from zaplite.engine.run import Engine
from zaplite.errors import AuthError, QuotaExceeded, UsageError
from zaplite.project.binding import BoundZap
from zaplite.retry import is_transient
from zaplite.store import Store, TaskRecord

__all__ = ["failed_task_ids", "replay_task", "replayable_task"]


def replayable_task(store: Store, task_id: int, *, force: bool = False) -> TaskRecord:
    """The stored task ``task_id`` if it may be replayed; a :class:`UsageError` saying why not.

    A task that succeeded is replayed only with ``force``: its record would be sent again.
    """
    task = store.get_task(task_id)
    if task is None:
        raise UsageError(f"There is no task {task_id}.")
    if task.status == "success" and not force:
        raise UsageError(
            f"Task {task_id} succeeded: replaying it would send its record again; "
            "add --force to do that."
        )
    return task


def failed_task_ids(engine: Engine, zap_id: str | None) -> list[int]:
    """The ids of every failed task (of one zap, or of all), oldest first: the replay order."""
    tasks = engine.store.list_tasks(zap_id=zap_id, status="failed", limit=1_000_000)
    return [task.id for task in reversed(tasks)]


async def replay_task(
    engine: Engine, task_id: int, zaps: dict[str, BoundZap], *, force: bool = False
) -> str:
    """Run a stored task's record through its zap's steps again; returns the new status.

    The task keeps its id and gets the new outcome, with one more attempt counted. A
    task that succeeded is sent again only with ``force`` (else :class:`UsageError`).
    """
    task = await asyncio.to_thread(replayable_task, engine.store, task_id, force=force)
    zap = zaps.get(task.zap_id)
    if zap is None:
        raise UsageError(
            f"Task {task_id} belongs to zap {task.zap_id!r}, which is not loaded; "
            "restore its file to replay it."
        )
    item = WorkItem(key=task.record_key, record=task.record)
    try:
        # The caller shows how the replay ended: no log line of its own for a failure.
        await Delivery(zap, engine.connections, engine.policy, log_failures=False).deliver([item])
    except (AuthError, QuotaExceeded) as error:
        item.status, item.error = "failed", str(error)
    except BaseException as error:
        if not is_transient(error):
            raise
        item.status, item.error = "failed", f"gave up after retries: {error}"
    status = item.status or "success"
    await asyncio.to_thread(
        engine.store.update_task, task_id, status=status, steps=item.steps, error=item.error
    )
    engine.metrics.replayed(task.zap_id, status)
    return status
