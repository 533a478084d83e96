"""``test-step`` sends only real records, and runs the zap's filters in order before the step."""

from __future__ import annotations

import json
from typing import Any

from tests.support.memory_plugin import MemoryService, memory_zap
from zaplite.testing import ZapliteProject

WON = {"id": "won", "filter": [{"field": "{{trigger.kind}}", "op": "equals", "value": "deal"}]}
SEND = {"id": "out", "app": "memory", "action": "send", "params": {"to": "{{trigger.name}}"}}


def test_without_a_kept_sample_nothing_is_sent_and_the_way_to_get_one_is_said(
    project: ZapliteProject, service: MemoryService
) -> None:
    project.add_zap(memory_zap("z"))
    result = project.cli("test-step", "z")
    assert result.exit_code == 2, result.output
    assert "no sample record is kept" in result.stderr
    assert "`zaplite test-trigger z` fetches one" in result.stderr
    assert service.received == [] and service.sends == 0
    # --dry-run still maps the built-in sample, and says where it came from.
    dry = project.cli("test-step", "z", "--dry-run", "--json")
    report = json.loads(dry.stdout)
    assert report["status"] == "dry-run" and report["params"]["to"] == "Sample"
    assert report["record_source"] == "the built-in sample of memory.new_item"
    assert service.sends == 0


def test_a_kept_real_sample_is_sent(project: ZapliteProject, service: MemoryService) -> None:
    service.add(name="Grace", kind="deal")
    project.add_zap(memory_zap("z"))
    assert project.cli("test-trigger", "z").exit_code == 0
    result = project.cli("test-step", "z", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "success"
    assert [item["to"] for item in service.received] == ["Grace"]


def test_a_sample_equal_to_the_built_in_one_is_never_sent(
    project: ZapliteProject, service: MemoryService
) -> None:
    """A store from before this rule may hold the built-in sample as a kept one."""
    project.add_zap(memory_zap("z"))
    sample = dict(project.workspace.zaps["z"].trigger.sample)
    project.store.save_samples("z", [sample])
    result = project.cli("test-step", "z")
    assert result.exit_code == 2 and "no sample record is kept" in result.stderr
    assert service.sends == 0


def test_test_trigger_never_keeps_a_built_in_sample(project: ZapliteProject) -> None:
    from tests.cli.test_test_trigger import Inbox

    project.use_plugins(Inbox())
    project.add_zap(
        {
            "id": "only",
            "trigger": {"app": "inbox", "event": "sample_only"},
            "steps": [{"id": "file", "app": "inbox", "action": "file"}],
        }
    )
    shown = project.cli("test-trigger", "only")
    assert shown.exit_code == 0, shown.output
    assert "Nothing was kept: `zaplite test-step only` sends only real records" in shown.stdout
    assert project.store.get_samples("only") == []
    refused = project.cli("test-step", "only")
    assert refused.exit_code == 2
    assert "inbox.sample_only cannot fetch real records" in refused.stderr
    assert "--dry-run" in refused.stderr


def _filtered_project(project: ZapliteProject, service: MemoryService, kind: str) -> None:
    service.add(name="Ada", kind=kind)
    project.add_zap(memory_zap("z", steps=[WON, SEND]))
    assert project.cli("test-trigger", "z").exit_code == 0


def test_a_filter_that_stops_the_sample_stops_the_test(
    project: ZapliteProject, service: MemoryService
) -> None:
    _filtered_project(project, service, kind="lead")
    result = project.cli("test-step", "z")
    assert result.exit_code == 0, result.output
    assert "Filter 'won' stops the record: kind equals 'deal' was false" in result.stdout
    assert "The zap stops at filter 'won' for this record" in result.stdout
    assert "Request" not in result.stdout and service.sends == 0
    report: dict[str, Any] = json.loads(project.cli("test-step", "z", "--json").stdout)
    assert report["status"] == "filtered" and report["stopped_at"] == "won"
    assert report["filters"] == [
        {"step": "won", "passed": False, "reason": report["filters"][0]["reason"]}
    ]
    assert service.sends == 0


def test_a_filter_that_passes_is_shown_and_the_step_is_sent(
    project: ZapliteProject, service: MemoryService
) -> None:
    _filtered_project(project, service, kind="deal")
    result = project.cli("test-step", "z")
    assert result.exit_code == 0, result.output
    assert "Filter 'won' passes: kind equals 'deal' was true." in result.stdout
    assert [item["to"] for item in service.received] == ["Ada"]
