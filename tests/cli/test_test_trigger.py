"""``zaplite test-trigger`` says when it shows a trigger's built-in sample instead of real records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zaplite import App, Page, hookimpl
from zaplite.testing import ZapliteProject

RECORDS = [{"id": 1, "email": "ada@example.com"}, {"id": 2, "email": "bob@example.com"}]
SAMPLE = {"id": 0, "email": "sample@example.com"}


class Inbox:
    """An app with an action and three triggers: one fetches recent records, two cannot."""

    def __init__(self) -> None:
        self.app = App("inbox")

        def poll(ctx: Any) -> Any:
            yield Page(records=RECORDS, cursor=len(RECORDS))

        def recent(ctx: Any) -> list[dict[str, Any]]:
            return RECORDS[::-1][: ctx.limit]

        self.app.trigger("fetches", dedup_key="id", sample=SAMPLE, recent=recent)(poll)
        self.app.trigger("sample_only", dedup_key="id", sample=SAMPLE)(poll)
        self.app.trigger("nothing", dedup_key="id")(poll)
        self.app.action("file")(lambda ctx, params: {})

    @hookimpl
    def register_apps(self, register: Any) -> None:
        register(self.app)


NOTICE = "The trigger inbox.{event} cannot fetch real records; "


@pytest.fixture
def project(zaplite_project: ZapliteProject) -> ZapliteProject:
    """A project with one zap per trigger of the inbox app."""
    zaplite_project.use_plugins(Inbox())
    for event in ("fetches", "sample_only", "nothing"):
        zaplite_project.add_zap(
            {
                "id": event,
                "trigger": {"app": "inbox", "event": event},
                "steps": [{"id": "file", "app": "inbox", "action": "file"}],
            }
        )
    return zaplite_project


def test_a_trigger_that_cannot_fetch_says_it_shows_its_built_in_sample(
    project: ZapliteProject,
) -> None:
    result = project.cli("test-trigger", "sample_only")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == NOTICE.format(event="sample_only") + "showing its built-in sample instead."
    assert lines[1] == "record 1 of 1 from the built-in sample of inbox.sample_only:"
    shown = project.cli("test-trigger", "sample_only", "--json")
    assert json.loads(shown.stdout) == {
        "zap": "sample_only",
        "trigger": "inbox.sample_only",
        "built_in_sample": True,
        "records": [SAMPLE],
    }


def test_a_trigger_without_a_sample_says_it_has_none(project: ZapliteProject) -> None:
    result = project.cli("test-trigger", "nothing")
    assert result.exit_code == 0, result.output
    assert result.stdout == NOTICE.format(event="nothing") + "it has no built-in sample.\n"


def test_real_records_come_without_the_notice(project: ZapliteProject) -> None:
    result = project.cli("test-trigger", "fetches", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "cannot fetch" not in result.stdout and "built-in" not in result.stdout
    assert result.stdout.startswith("record 1 of 2 from inbox.fetches:\n")
    shown = json.loads(project.cli("test-trigger", "fetches", "--json").stdout)
    assert shown["built_in_sample"] is False and shown["records"] == RECORDS[::-1]
