"""The engine's run path with the in-memory plugin: dedup, baselines, filters, templates, batches."""

from __future__ import annotations

from tests.support.memory_plugin import memory_zap


def test_delivers_every_record_once_across_runs(project, service):
    for n in range(5):
        service.add(name=f"n{n}")
    project.add_zap(memory_zap())
    [first] = project.run_once()
    assert (first.status, first.found, first.delivered, first.pages) == ("ok", 5, 5, 3)
    assert [item["to"] for item in service.received] == ["n0", "n1", "n2", "n3", "n4"]

    [second] = project.run_once()
    assert (second.found, second.delivered) == (0, 0)
    service.add(name="n5")
    [third] = project.run_once()
    assert third.delivered == 1
    assert [item["to"] for item in service.received][-1] == "n5"
    assert len(service.received) == 6
    assert len(project.tasks(status="success")) == 6


def test_overlapping_pages_do_not_deliver_twice(project, service):
    """A trigger that re-yields records it already gave (an overlap) is deduplicated by key."""
    for n in range(3):
        service.add(name=f"n{n}")
    project.add_zap(memory_zap())
    project.run_once()
    # Rewind the cursor as an overlapping poll would: the engine must drop the known keys.
    store = project.store
    run_id = store.start_run("z")
    store.commit_page("z", run_id, tasks=[], cursor=0, keys=[])
    store.finish_run(run_id, "ok")
    [again] = project.run_once()
    assert again.found == 0 and again.duplicates == 3
    assert len(service.received) == 3


def test_a_page_prepared_ahead_still_drops_what_the_page_before_delivered(project, service):
    """Page N+1 is mapped while page N is delivered, but deduplicated only after N is recorded."""
    for n in range(5):
        service.add(name=f"n{n}")
    project.add_zap(memory_zap(trigger={"params": {"page_size": 2, "repeat": 1}}))
    [run] = project.run_once()
    assert (run.found, run.delivered, run.duplicates, run.pages) == (5, 5, 2, 3)
    assert [item["to"] for item in service.received] == ["n0", "n1", "n2", "n3", "n4"]
    assert service.sends == 5


def test_a_page_is_sent_only_once_the_page_before_is_recorded(project, service):
    """Preparing the next page ahead sends nothing: at most the page in flight is unrecorded."""
    for n in range(6):
        service.add(name=f"n{n}")
    project.add_zap(memory_zap(trigger={"params": {"page_size": 2}}))
    recorded_before_send: list[int] = []
    service.before_send = lambda item: recorded_before_send.append(len(project.tasks()))
    project.run_once()
    # n0, n1 (page 1) with nothing recorded; n2, n3 after page 1's two tasks; then four.
    assert recorded_before_send == [0, 0, 2, 2, 4, 4]


def test_first_run_with_start_now_sets_a_baseline(project, service):
    service.add(name="old")
    project.add_zap(memory_zap(trigger={"start": "now"}))
    [first] = project.run_once()
    assert first.found == 0 and service.received == []
    service.add(name="new")
    [second] = project.run_once()
    assert [item["to"] for item in service.received] == ["new"]
    assert second.delivered == 1


def test_start_instant_backfills_from_then(project, service):
    service.add(name="before")  # 2026-01-01T00:00:01
    service.add(name="after")  # 2026-01-01T00:00:02
    project.add_zap(memory_zap(trigger={"start": "2026-01-01T00:00:02Z"}))
    project.run_once()
    assert [item["to"] for item in service.received] == ["after"]


def test_filter_step_stops_records_and_records_them_as_filtered(project, service):
    service.add(name="a", amount=5)
    service.add(name="b", amount=50)
    service.add(name="c", amount=500)
    steps = [
        {"id": "big", "filter": [{"field": "{{trigger.amount}}", "op": "gte", "value": 50}]},
        {"id": "out", "app": "memory", "action": "send", "params": {"to": "{{trigger.name}}"}},
    ]
    project.add_zap(memory_zap(steps=steps))
    [result] = project.run_once()
    assert (result.delivered, result.filtered, result.failed) == (2, 1, 0)
    assert [item["to"] for item in service.received] == ["b", "c"]
    [filtered] = project.tasks(status="filtered")
    assert filtered.record["name"] == "a"
    assert filtered.steps[0]["status"] == "filtered"


def test_any_group_is_or(project, service):
    service.add(name="x", kind="lead")
    service.add(name="y", kind="deal")
    service.add(name="z", kind="other")
    steps = [
        {
            "id": "kinds",
            "filter": [
                {
                    "any": [
                        {"field": "{{trigger.kind}}", "op": "equals", "value": "lead"},
                        {"field": "{{trigger.kind}}", "op": "equals", "value": "deal"},
                    ]
                }
            ],
        },
        {"id": "out", "app": "memory", "action": "send", "params": {"to": "{{trigger.name}}"}},
    ]
    project.add_zap(memory_zap(steps=steps))
    project.run_once()
    assert [item["to"] for item in service.received] == ["x", "y"]


def test_exact_templates_keep_native_types_and_text_templates_render_text(project, service):
    service.add(name="Ada", amount=12.5, owner={"name": "Grace"})
    params = {
        "to": "{{trigger.name}} via {{trigger.owner.name}}",
        "amount": "{{trigger.amount}}",
        "value": "{{trigger.owner}}",
        "data": '{"who": "{{trigger.owner.name}}", "n": "{{trigger.amount}}"}',
    }
    steps = [{"id": "out", "app": "memory", "action": "send", "params": params}]
    project.add_zap(memory_zap(steps=steps))
    project.run_once()
    [item] = service.received
    assert item["to"] == "Ada via Grace"
    assert item["amount"] == 12.5
    assert item["value"] == {"name": "Grace"}
    assert item["data"] == {"who": "Grace", "n": 12.5}


def test_later_steps_see_earlier_step_outputs(project, service):
    service.add(name="a")
    steps = [
        {"id": "one", "app": "memory", "action": "send", "params": {"to": "{{trigger.name}}"}},
        {
            "id": "two",
            "app": "memory",
            "action": "send",
            "params": {"to": "second", "value": "{{steps.one.position}}"},
        },
    ]
    project.add_zap(memory_zap(steps=steps))
    project.run_once()
    assert service.received[1] == {"to": "second", "value": 1, "amount": None, "data": {}}


def test_batch_perform_is_used_in_chunks_of_its_size(project, service):
    for n in range(7):
        service.add(name=f"n{n}")
    steps = [
        {"id": "out", "app": "memory", "action": "send_batch", "params": {"to": "{{trigger.name}}"}}
    ]
    project.add_zap(memory_zap(steps=steps, trigger={"params": {"page_size": 7}}))
    [result] = project.run_once()
    assert result.delivered == 7
    assert sorted(service.batches) == [1, 3, 3]
    assert service.sends == 0  # never one by one
    assert [item["to"] for item in service.received][:3] == ["n0", "n1", "n2"]


def test_a_failed_record_in_a_batch_fails_alone(project, service):
    service.add(name="ok1")
    service.add(name="reject")
    service.add(name="ok2")
    steps = [
        {"id": "out", "app": "memory", "action": "send_batch", "params": {"to": "{{trigger.name}}"}}
    ]
    project.add_zap(memory_zap(steps=steps, trigger={"params": {"page_size": 10}}))
    [result] = project.run_once()
    assert (result.delivered, result.failed) == (2, 1)
    [failed] = project.tasks(status="failed")
    assert failed.record["name"] == "reject"
    assert "the sink refused the item" in failed.error and "422" in failed.error


def test_one_by_one_path_fails_a_permanent_error_alone(project, service):
    service.add(name="ok1")
    service.add(name="reject")
    service.add(name="ok2")
    project.add_zap(memory_zap())
    [result] = project.run_once()
    assert (result.delivered, result.failed) == (2, 1)
    assert [item["to"] for item in service.received] == ["ok1", "ok2"]


def test_params_invalid_for_a_record_fail_that_task_with_the_field(project, service):
    service.add(name="a", amount="lots")
    service.add(name="b", amount=3)
    steps = [
        {
            "id": "out",
            "app": "memory",
            "action": "send",
            "params": {"to": "{{trigger.name}}", "amount": "{{trigger.amount}}"},
        }
    ]
    project.add_zap(memory_zap(steps=steps))
    [result] = project.run_once()
    assert (result.delivered, result.failed) == (1, 1)
    [failed] = project.tasks(status="failed")
    assert "params.amount" in failed.error


def test_a_run_refused_at_sign_in_shows_no_task_counts(zaplite_project) -> None:
    """A run that failed before finding anything does not read "failed: ... 0 failed"."""
    from tests.support import memory_plugin

    memory_plugin.reset()
    zaplite_project.use_plugins(memory_plugin)
    zaplite_project.add_connection("mem", "memory", name="default", token="bad-token")
    zaplite_project.add_zap(memory_plugin.memory_zap("z"))
    out = zaplite_project.cli("run", "--once")
    assert out.exit_code == 1
    [line] = out.stdout.splitlines()
    assert line.startswith("z: failed in ")
    assert "authentication failed: the memory service refused the token" in line
    assert "0 failed" not in line


def test_with_v_a_run_line_is_printed_once(project, service) -> None:
    service.add(name="a")
    project.add_zap(memory_zap("z"))
    out = project.cli("run", "--once", "-v")
    assert out.exit_code == 0, out.output
    assert out.output.count("z: ok: 1 new, 1 delivered") == 1


def test_a_failed_record_is_logged_with_its_zap_and_record(project, service) -> None:
    service.add(name="reject")
    project.add_zap(memory_zap("z"))
    out = project.cli("run", "--once")
    assert out.exit_code == 1
    [task] = project.tasks()
    assert f"zap z, record {task.record_key}: step 'out': the sink refused the item" in " ".join(
        out.stderr.split()
    )
