"""Helpers shared by the engine tests."""

from __future__ import annotations

from typing import Any


def memory_zap(
    zap_id: str = "z", *, steps: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A zap from the memory trigger to the memory send action."""
    trigger = {"app": "memory", "event": "new_item", "params": {"page_size": 2}, "start": "all"}
    trigger.update(extra.pop("trigger", {}))
    return {
        "id": zap_id,
        "name": f"test zap {zap_id}",
        "schedule": {"every": "1m"},
        "trigger": trigger,
        "steps": steps
        or [{"id": "out", "app": "memory", "action": "send", "params": {"to": "{{trigger.name}}"}}],
        **extra,
    }
