"""The history: runs of zaps and the task of every record they delivered."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zaplite.store.base import NotFound, StoreBase, utc_now
from zaplite.store.records import TASK_STATUSES, RunRecord, TaskRecord
from zaplite.store.schema import NOT_SUCCEEDED, RUNNING, runs, tasks

__all__ = ["RUN_STATUSES", "History"]

RUN_STATUSES: tuple[str, ...] = ("ok", "failed", "paused", "interrupted")
"""The statuses :meth:`History.finish_run` accepts (a run is ``"running"`` until then)."""


class History(StoreBase):
    """Runs and tasks: written by the engine, read by ``zaplite history`` and replays."""

    def start_run(self, zap_id: str, owner: str | None = None) -> int:
        """Record that a run of the zap starts now in the process ``owner``; returns its id.

        ``owner`` is the process's lease holder name: a row it leaves ``"running"`` when
        it dies is closed by :meth:`interrupt_runs` once it is known to be gone.
        """
        with self._write() as connection:
            return connection.execute(
                sa.insert(runs)
                .values(zap_id=zap_id, started_at=utc_now(), status="running", owner=owner)
                .returning(runs.c.id)
            ).scalar_one()

    def open_runs(self, zap_id: str) -> list[tuple[int, str | None]]:
        """The zap's runs still ``"running"``, oldest first, as (id, owner).

        Read from a partial index of the open runs only, so it costs the same however
        many runs the zap has had.
        """
        query = (
            sa.select(runs.c.id, runs.c.owner)
            .where(runs.c.zap_id == zap_id, RUNNING)
            .order_by(runs.c.id)
        )
        with self._read() as connection:
            return [(row.id, row.owner) for row in connection.execute(query)]

    def interrupt_runs(self, run_ids: list[int], message: str) -> int:
        """Close the runs ``run_ids`` that are still ``"running"`` as ``"interrupted"``; how many were.

        For runs whose process is gone (killed, or it lost the store as the run
        finished). A run its process finished meanwhile keeps the status it recorded.
        """
        if not run_ids:
            return 0
        with self._write() as connection:
            return connection.execute(
                sa.update(runs)
                .where(runs.c.id.in_(run_ids), RUNNING)
                .values(status="interrupted", finished_at=utc_now(), message=message)
            ).rowcount

    def finish_run(self, run_id: int, status: str, message: str | None = None) -> None:
        """Record how the run ended: ``"ok"``, ``"failed"``, ``"paused"`` or ``"interrupted"``."""
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self._write() as connection:
            result = connection.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=utc_now(), message=message)
            )
            if result.rowcount == 0:
                raise NotFound(f"There is no run {run_id}.")

    def list_runs(self, zap_id: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs (of one zap, or of all), newest first."""
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if zap_id is not None:
            query = query.where(runs.c.zap_id == zap_id)
        with self._read() as connection:
            return [RunRecord(**row._asdict()) for row in connection.execute(query)]

    def get_task(self, task_id: int) -> TaskRecord | None:
        """The task with this id, or ``None``."""
        with self._read() as connection:
            row = connection.execute(sa.select(tasks).where(tasks.c.id == task_id)).first()
        return None if row is None else TaskRecord(**row._asdict())

    def list_tasks(
        self,
        *,
        zap_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[TaskRecord]:
        """Tasks newest first, optionally of one zap and/or status; ``before_id`` pages back."""
        query = sa.select(tasks).order_by(tasks.c.id.desc()).limit(limit)
        if zap_id is not None:
            query = query.where(tasks.c.zap_id == zap_id)
        if status is not None:
            query = query.where(tasks.c.status == status)
            if status != "success":  # lets the partial status indexes serve the query
                query = query.where(NOT_SUCCEEDED)
        if before_id is not None:
            query = query.where(tasks.c.id < before_id)
        with self._read() as connection:
            return [TaskRecord(**row._asdict()) for row in connection.execute(query)]

    def count_tasks(self, *, zap_id: str | None = None) -> dict[str, int]:
        """How many tasks have each status (every known status is present, maybe with 0).

        Successes are the total less the others: the status indexes hold only tasks that
        did not succeed, and the total is counted from ``(zap_id, id)`` alone.
        """
        others = (
            sa.select(tasks.c.status, sa.func.count()).where(NOT_SUCCEEDED).group_by(tasks.c.status)
        )
        total = sa.select(sa.func.count()).select_from(tasks)
        if zap_id is not None:
            others = others.where(tasks.c.zap_id == zap_id)
            total = total.where(tasks.c.zap_id == zap_id)
        counts = dict.fromkeys(TASK_STATUSES, 0)
        with self._read() as connection:
            counts.update({status: count for status, count in connection.execute(others)})
            all_tasks = connection.execute(total).scalar_one()
        counts["success"] = all_tasks - sum(
            n for status, n in counts.items() if status != "success"
        )
        return counts

    def update_task(
        self, task_id: int, *, status: str, steps: list[dict[str, Any]], error: str | None
    ) -> None:
        """Record a replay of the task: its new outcome, one more attempt, updated now."""
        if status not in TASK_STATUSES:
            raise ValueError(f"unknown task status {status!r}")
        with self._write() as connection:
            before = connection.execute(
                sa.select(tasks.c.status, tasks.c.zap_id, tasks.c.created_at).where(
                    tasks.c.id == task_id
                )
            ).first()
            if before is not None and before.status != status:
                self._count_hours(
                    connection, before.zap_id, before.created_at, {before.status: -1, status: 1}
                )
            result = connection.execute(
                sa.update(tasks)
                .where(tasks.c.id == task_id)
                .values(
                    status=status,
                    steps=steps,
                    error=error,
                    attempts=tasks.c.attempts + 1,
                    updated_at=utc_now(),
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"There is no task {task_id}.")
