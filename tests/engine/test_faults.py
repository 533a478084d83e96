"""Faults through the engine: retries, replay, pausing, isolation between zaps."""

from __future__ import annotations

from tests.support.memory_plugin import memory_zap
from zaplite import AuthError, ParamsRejected, RateLimited, RetryableError


def test_transient_send_faults_are_retried_and_deliver_once(project, service):
    service.add(name="a")
    service.send_faults = [
        RetryableError("503 from the sink"),
        RateLimited("429", retry_after=0.01),
    ]
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert result.delivered == 1
    assert service.sends == 3
    assert [item["to"] for item in service.received] == ["a"]


def test_retries_are_bounded_and_nothing_is_lost(project, service):
    service.add(name="a")
    service.send_faults = [RetryableError("503")] * 3  # retry_attempts = 3 in the test project
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert result.status == "failed"
    assert "gave up after 3 attempts" in result.message
    assert service.sends == 3
    assert project.tasks() == []  # not recorded: the record is polled again
    [again] = project.run_once()
    assert again.delivered == 1
    assert [item["to"] for item in service.received] == ["a"]


def test_transient_poll_faults_resume_from_the_last_checkpoint(project, service):
    for n in range(4):
        service.add(name=f"n{n}")
    service.poll_faults = [RetryableError("connection reset")]
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert result.status == "ok" and result.delivered == 4
    assert service.polls == 2


def test_a_configuration_error_fails_the_run_with_the_service_message(project, service):
    service.add(name="a")
    service.poll_faults = [ParamsRejected("No such column 'Foo' on entity 'Contact'")]
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert result.status == "failed"
    assert result.message == "No such column 'Foo' on entity 'Contact'"
    assert service.polls == 1  # not retried


def test_replay_runs_a_failed_task_again_from_its_record(project, service):
    service.add(name="reject")
    project.add_zap(memory_zap())
    project.run_once()
    [failed] = project.tasks(status="failed")
    # The data is fixed: the step now maps a constant address.
    fixed = memory_zap(
        steps=[{"id": "out", "app": "memory", "action": "send", "params": {"to": "fixed"}}]
    )
    project.add_zap(fixed)
    assert project.replay(failed.id) == "success"
    task = project.store.get_task(failed.id)
    assert (task.status, task.attempts, task.error) == ("success", 2, None)
    assert [item["to"] for item in service.received] == ["fixed"]


def test_authentication_failures_pause_the_zap_after_the_limit(project, service):
    service.add(name="a")
    project.set(pause_after_auth_failures=2)
    project.add_zap(memory_zap())
    service.poll_faults = [AuthError("refresh token revoked"), AuthError("refresh token revoked")]
    [first] = project.run_once()
    assert first.status == "failed" and "authentication failed" in first.message
    [second] = project.run_once()
    assert second.status == "paused"
    assert "zaplite resume z" in second.message
    [third] = project.run_once()
    assert third.status == "paused" and service.polls == 2
    project.store.resume("z")
    [fourth] = project.run_once()
    assert fourth.delivered == 1


def test_one_zap_failing_never_stops_another(project, service):
    from tests.support.memory_plugin import SERVICES, MemoryService

    broken = SERVICES.setdefault("broken", MemoryService())
    broken.add(name="x")
    broken.poll_faults = [RuntimeError("plugin bug")] * 5
    project.add_connection("bad", "memory", name="broken")
    service.add(name="fine")
    project.add_zap(memory_zap("good", connection="mem"))
    project.add_zap(memory_zap("bad", connection="bad"))
    results = {r.zap_id: r for r in project.run_once()}
    assert results["good"].delivered == 1
    assert results["bad"].status == "failed"
    assert results["bad"].message == (
        "the plugin 'tests.support.memory_plugin' failed in the trigger memory.new_item: "
        "RuntimeError: plugin bug"
    )


def test_a_params_model_that_raises_fails_its_record_alone(project, service):
    """Params are validated ahead of sending; a bug there fails that record, not the run."""
    for name in ("a", "params bug", "b"):
        service.add(name=name)
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert (result.status, result.delivered, result.failed) == ("ok", 2, 1)
    assert [item["to"] for item in service.received] == ["a", "b"]
    [failed] = project.tasks(status="failed")
    assert failed.record["name"] == "params bug"
    assert failed.error == (
        "step 'out': the plugin 'tests.support.memory_plugin' failed in the action memory.send: "
        "RuntimeError: the params model broke"
    )
