"""A trivial plugin for ``scheduler_idle.py``: a trigger with never anything new, an idle action.

Loaded with ``--plugins-dir bench/plugins``. The trigger costs nothing, so a daemon
running 1,000 of its zaps shows what the scheduler and the store cost alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from zaplite import ActionContext, App, Page, PollContext, hookimpl

__all__ = ["app", "register_apps"]


class IdleConnection(BaseModel):
    """No settings."""

    model_config = ConfigDict(extra="forbid")


class NoParams(BaseModel):
    """No params."""

    model_config = ConfigDict(extra="forbid")


app = App("idle", label="Idle", connection=IdleConnection, connect=lambda settings: settings)


@app.trigger("nothing", params=NoParams, dedup_key="id", sample={"id": 1}, output_fields=["id"])
async def nothing(ctx: PollContext) -> AsyncIterator[Page]:
    """Never anything new: the first poll saves a cursor, later polls yield no page."""
    if ctx.cursor is None:
        yield Page(records=[], cursor=0)


@app.action("noop", params=NoParams, sample_output={})
async def noop(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    """Does nothing."""
    return {}


@hookimpl
def register_apps(register: Any) -> None:
    """Register the idle app."""
    register(app)
