"""``zaplite replay`` sends a task that succeeded again only with ``--force``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.memory_plugin import MemoryService, memory_zap
from zaplite.errors import UsageError
from zaplite.testing import ZapliteProject


def test_replaying_a_success_needs_force(project: ZapliteProject, service: MemoryService) -> None:
    service.add(name="Ada")
    project.add_zap(memory_zap("z"))
    project.run_once("z")
    [task] = project.tasks()
    assert task.status == "success" and len(service.received) == 1
    refused = project.cli("replay", str(task.id))
    assert refused.exit_code == 2
    assert f"Task {task.id} succeeded: replaying it would send its record again" in refused.stderr
    assert "--force" in refused.stderr
    assert len(service.received) == 1
    with pytest.raises(UsageError, match="add --force"):
        project.replay(task.id)
    forced = project.cli("replay", str(task.id), "--force")
    assert forced.exit_code == 0, forced.output
    assert f"task {task.id}: success" in forced.stdout
    assert len(service.received) == 2


def _failed_task(project: ZapliteProject, service: MemoryService) -> Any:
    """The task of a record the memory service rejects, after one run of its zap."""
    service.add(name="reject")
    project.add_zap(memory_zap("z"))
    project.run_once("z")
    [task] = project.tasks()
    assert task.status == "failed"
    return task


def test_a_failed_task_replays_without_force(
    project: ZapliteProject, service: MemoryService
) -> None:
    task = _failed_task(project, service)
    result = project.cli("replay", str(task.id))
    assert result.exit_code == 1 and f"task {task.id}: failed" in result.stdout


def test_an_unknown_task_is_refused_before_any_task_is_sent(
    project: ZapliteProject, service: MemoryService
) -> None:
    task = _failed_task(project, service)
    refused = project.cli("replay", str(task.id), "999999")
    assert refused.exit_code == 2
    assert "There is no task 999999." in refused.stderr
    assert project.store.get_task(task.id).attempts == task.attempts  # not sent either
    with pytest.raises(UsageError, match="There is no task 999999"):
        project.replay(999999)
