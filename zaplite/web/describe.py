"""A zap in words, and times and durations as people read them, for the console's pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from zaplite.plugin.manager import Registry
from zaplite.project.binding import BoundZap
from zaplite.project.zapfile import AnyOf, Condition, Schedule

__all__ = ["ago", "conditions_text", "pretty_json", "schedule_text", "steps_in_words", "when"]


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def schedule_text(schedule: Schedule) -> str:
    """``every 5m`` or ``cron */5 * * * * (UTC)``."""
    if schedule.cron:
        return f"cron {schedule.cron} (UTC)"
    assert schedule.every is not None
    return f"every {_duration(schedule.every)}"


def when(value: datetime | None) -> str:
    """A timestamp as ``2026-12-06 11:29:22 UTC`` (or an em dash)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago (or in how long) ``value`` is: ``3m ago``, ``in 12s``."""
    if value is None:
        return "—"
    delta = (now or datetime.now(UTC)) - value
    if delta.total_seconds() < 0:
        return f"in {_duration(-delta)}"
    return f"{_duration(delta)} ago" if delta.total_seconds() >= 1 else "just now"


def _condition_text(condition: Any) -> str:
    if isinstance(condition, AnyOf):
        return "any of (" + "; ".join(_condition_text(c) for c in condition.any) + ")"
    if isinstance(condition, Condition):
        op = str(getattr(condition.op, "value", condition.op)).replace("_", " ")
        if condition.value is None:
            return f"{condition.field} {op}"
        return f"{condition.field} {op} {json.dumps(condition.value, ensure_ascii=False)}"
    return str(condition)


def conditions_text(conditions: list[Any]) -> str:
    """A filter's conditions as one line (all must hold)."""
    return " and ".join(_condition_text(c) for c in conditions)


def steps_in_words(zap: BoundZap, registry: Registry) -> dict[str, Any]:
    """The zap's trigger and steps as sentences, with each step's params as written."""
    app = registry.apps.get(zap.trigger.app)
    app_label = app.label if app and app.label else zap.trigger.app
    trigger_label = zap.trigger.label or zap.trigger.name
    params = zap.zap.trigger.params
    trigger = {
        "sentence": f"When “{trigger_label}” fires in {app_label}",
        "detail": f"{zap.trigger.app}.{zap.trigger.name}"
        + (f" on connection {zap.connection}" if zap.connection else ""),
        "params": pretty_json(params) if params else "",
        "start": str(zap.zap.trigger.start),
    }
    steps = []
    for step, spec in zip(zap.steps, zap.zap.steps, strict=True):
        if step.is_filter:
            steps.append(
                {
                    "id": step.id,
                    "kind": "filter",
                    "sentence": "Only continue if " + conditions_text(step.conditions or []),
                    "params": "",
                }
            )
            continue
        assert step.action is not None
        action_app = registry.apps.get(step.action.app)
        label = action_app.label if action_app and action_app.label else step.action.app
        steps.append(
            {
                "id": step.id,
                "kind": "action",
                "sentence": f"Then “{step.action.label or step.action.name}” in {label}"
                + (f" on connection {step.connection}" if step.connection else ""),
                "params": pretty_json(getattr(spec, "params", {})),
            }
        )
    return {"trigger": trigger, "steps": steps}


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON text (escaped by the template, never trusted)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
