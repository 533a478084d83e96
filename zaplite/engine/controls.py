"""Turning a zap off and on by hand: what ``zaplite pause`` / ``resume`` and the console's buttons do."""

from __future__ import annotations

from zaplite.engine.metrics import Metrics
from zaplite.store import Store

__all__ = ["pause_zap", "resume_zap"]


def pause_zap(store: Store, zap_id: str, where: str, metrics: Metrics | None = None) -> str:
    """Pause the zap until it is resumed; ``where`` says who paused it. Returns the reason shown.

    Every daemon sharing the store skips the zap from its next tick on; a run in flight
    finishes its page.
    """
    reason = f"paused by hand ({where}); `zaplite resume {zap_id}` turns it back on"
    store.pause(zap_id, reason)
    if metrics is not None:
        metrics.pause_changed(zap_id, True)
    return reason


def resume_zap(store: Store, zap_id: str, metrics: Metrics | None = None) -> bool:
    """Resume a paused zap (by hand, or after repeated authentication failures).

    Returns whether it was paused; either way its count of authentication failures
    starts again from zero.
    """
    reason, _ = store.zap_flags(zap_id)
    store.resume(zap_id)
    if metrics is not None:
        metrics.pause_changed(zap_id, False)
    return reason is not None
