"""The values the store takes and hands back: plain dataclasses, no database types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "TASK_STATUSES",
    "KeysFull",
    "NewTask",
    "RunRecord",
    "RunStart",
    "TaskRecord",
    "ZapStatus",
]

TASK_STATUSES: tuple[str, ...] = ("success", "failed", "filtered")
"""The statuses a task may have."""


@dataclass
class NewTask:
    """A task to record with :meth:`Store.commit_page`: one trigger record and what became of it.

    ``record`` is the trigger record (JSON-compatible), kept so that the task can be
    replayed; ``steps`` is one ``{"id", "status", "input", "output", "error"}`` dict
    per step that ran; ``status`` is ``"success"``, ``"failed"`` or ``"filtered"``.
    """

    record_key: str
    record: dict[str, Any]
    status: str
    steps: list[dict[str, Any]]
    error: str | None = None
    attempts: int = 1


@dataclass(frozen=True)
class KeysFull:
    """What :meth:`Store.commit_page` did when a zap's dedup keys passed ``max_keys_per_zap``.

    ``outcome`` is ``"settled"`` (the page's settled cursor was saved and every key of
    the zap forgotten: no later poll reads those records again), ``"kept"`` (the keys
    are inside the trigger's look-back window, so none was forgotten) or ``"trimmed"``
    (a trigger without watermarks: the oldest keys beyond the limit were forgotten).
    """

    zap_id: str
    count: int
    limit: int
    outcome: str


@dataclass(frozen=True)
class TaskRecord:
    """A stored task, as the history and replay see it."""

    id: int
    zap_id: str
    run_id: int | None
    record_key: str
    record: dict[str, Any]
    status: str
    steps: list[dict[str, Any]]
    error: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RunRecord:
    """A stored run: one poll of one zap and the counts of its tasks by outcome.

    ``status`` is ``"running"`` until :meth:`Store.finish_run` sets ``"ok"``,
    ``"failed"``, ``"paused"`` or ``"interrupted"``; a run whose process is gone is
    closed as ``"interrupted"`` by :meth:`Store.interrupt_runs`.
    """

    id: int
    zap_id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    found: int
    delivered: int
    failed: int
    filtered: int
    message: str | None
    owner: str | None = None
    """The lease holder name of the process that ran it (``None`` before revision 0008)."""


@dataclass(frozen=True)
class ZapStatus:
    """What the store knows of a zap: paused or not, auth failures, last run, cursor."""

    zap_id: str
    paused_reason: str | None
    auth_failures: int
    last_run_at: datetime | None
    has_cursor: bool

    @property
    def paused(self) -> bool:
        """Whether the zap is paused (it then has a reason)."""
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class RunStart:
    """What a run reads before it polls: the zap's pause, its auth failures, its cursor."""

    paused_reason: str | None
    auth_failures: int
    cursor: Any
    """The saved cursor, or ``None`` before the zap's first committed page."""
