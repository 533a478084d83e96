"""Reading a page ahead: a trigger making page N+1 sees the state page N carried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from zaplite import ActionContext, App, Page, PollContext, hookimpl


class NoSettings(BaseModel):
    """No settings or params."""

    model_config = ConfigDict(extra="forbid")


app = App("stately", label="Stately", connection=NoSettings, connect=lambda settings: settings)


@app.trigger("pages", params=NoSettings, dedup_key="id", sample={"id": 1}, output_fields=["id"])
async def pages(ctx: PollContext) -> AsyncIterator[Page]:
    """Three pages; each records what the state said when it was made, and moves it on."""
    for number in range(3):
        seen = ctx.state.get(["count"]).get("count", 0)
        yield Page(
            records=[{"id": number, "seen": seen}],
            cursor=number,
            state={"count": seen + 1},
        )


@app.action("keep", params=NoSettings, sample_output={})
async def keep(ctx: ActionContext, params: NoSettings) -> dict[str, Any]:
    """Does nothing."""
    return {}


class Plugin:
    """Registers the app."""

    @hookimpl
    def register_apps(self, register: Any) -> None:
        """Register ``stately``."""
        register(app)


def test_each_page_sees_the_state_of_the_page_before(zaplite_project: Any) -> None:
    zaplite_project.use_plugins(Plugin())
    zaplite_project.add_connection("stately", "stately")
    zaplite_project.add_zap(
        {
            "id": "counting",
            "trigger": {"app": "stately", "event": "pages", "start": "all"},
            "steps": [{"id": "keep", "app": "stately", "action": "keep", "params": {}}],
        }
    )
    [result] = zaplite_project.run_once("counting")
    assert result.delivered == 3
    seen = sorted((task.record["id"], task.record["seen"]) for task in zaplite_project.tasks())
    assert seen == [(0, 0), (1, 1), (2, 2)]
