"""The CleverTap fault matrix through the real engine and plugins, one test per fault.

Both zaps poll the good Salesforce org; ``faulty`` uploads to the *bad* CleverTap
account, where the fault is armed, and ``healthy`` to the good one, in the same run.
Each test checks that nothing is lost (delivered once, now or on the next run, or
failed with the service's words and replayable), that retries are bounded (uploads
counted at the emulator), and that the healthy zap did not notice.
"""

from __future__ import annotations

import pytest

from tests.faults.world import World
from tests.support.zaps import contact_zap

N = 30


def _seed(world: World, **extra: object) -> list[str]:
    world.ct_zaps()
    return world.sf_good.add_contacts(N, **extra)


def _last_run_message(world: World) -> str:
    return world.project.store.list_runs("faulty")[0].message or ""


def test_a_wrong_passcode_fails_the_run_then_pauses_the_zap(world: World) -> None:
    emails = _seed(world)
    world.project.connections["ct_bad"]["passcode"] = "WRONG-PASSCODE"
    world.project.set(pause_after_auth_failures=2)
    first = world.run()
    faulty = first["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith(
        "authentication failed: CleverTap refused the credentials of account ACC-BAD"
    )
    assert "check the passcode and the region" in faulty.message
    assert world.ct_bad.emu.upload_count == 1  # a refused passcode is not retried
    assert world.tasks("faulty") == []  # the page was not recorded: nothing lost
    world.assert_healthy(first["healthy"], emails)
    second = world.run()["faulty"]
    assert second.status == "paused"
    assert "paused after 2 runs in a row failed to authenticate" in second.message
    assert _last_run_message(world) == second.message
    assert world.run()["faulty"].status == "paused"
    assert world.ct_bad.emu.upload_count == 2
    world.project.connections["ct_bad"]["passcode"] = world.ct_bad.emu.passcode
    world.project.write_config()
    world.project.store.resume("faulty")
    world.assert_recovers(emails, world.ct_bad)


def test_a_single_401_fails_the_run_and_the_next_run_delivers(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(1, status=401)
    results = world.run()
    assert results["faulty"].status == "failed"
    assert "authentication failed" in results["faulty"].message
    world.assert_healthy(results["healthy"], emails)
    world.assert_recovers(emails, world.ct_bad)


def test_429_with_a_short_retry_after_is_waited_out(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(2, status=429, retry_after=0.1)
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    world.assert_delivered_once("faulty", emails)
    assert world.ct_bad.emu.upload_count == 3
    assert world.last_seconds >= 0.2  # both waits were honoured
    world.assert_healthy(results["healthy"], emails)
    world.assert_recovers(emails, world.ct_bad)


def test_429_with_a_long_retry_after_is_waited_at_most_retry_max_wait(world: World) -> None:
    """A Retry-After longer than ``retry_max_wait`` is cut to it, then the upload is tried again."""
    emails = _seed(world)
    world.ct_bad.emu.fail_next(2, status=429, retry_after=120)
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    assert world.ct_bad.emu.upload_count == 3  # one try per attempt of the engine's policy
    world.assert_delivered_once("faulty", emails)
    world.assert_healthy(results["healthy"], emails)
    print(f"long Retry-After (capped by retry_max_wait): {world.last_seconds:.2f}s")


def test_429_without_retry_after_backs_off_by_itself(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(2, status=429)
    results = world.run()
    assert results["faulty"].status == "ok", results["faulty"].line()
    assert world.ct_bad.emu.upload_count == 3
    world.assert_delivered_once("faulty", emails)
    world.assert_healthy(results["healthy"], emails)


def test_429_that_persists_gives_up_in_bounded_requests(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(1000, status=429)
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith("gave up after 3 attempts: CleverTap answered HTTP 429")
    assert "nothing was lost" in faulty.message
    assert world.ct_bad.emu.upload_count == 3  # the engine's 3 attempts; the plugin tries once
    assert world.tasks("faulty") == []
    world.assert_healthy(results["healthy"], emails)
    world.ct_bad.emu.faults.clear()
    world.assert_recovers(emails, world.ct_bad)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_burst_of_5xx_is_retried_through(world: World, status: int) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(2, status=status)
    results = world.run()
    assert results["faulty"].status == "ok", results["faulty"].line()
    assert world.ct_bad.emu.upload_count == 3
    world.assert_delivered_once("faulty", emails)
    world.assert_healthy(results["healthy"], emails)


def test_an_outage_gives_up_and_the_next_run_delivers(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.fail_next(1000, status=503)
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith("gave up after 3 attempts: CleverTap answered HTTP 503")
    assert world.ct_bad.emu.upload_count == 3
    assert "gave up after 3 attempts" in _last_run_message(world)
    world.assert_healthy(results["healthy"], emails)
    print(f"outage gave up after {world.last_seconds:.2f}s")
    world.ct_bad.emu.faults.clear()
    world.assert_recovers(emails, world.ct_bad)


def test_timeouts_give_up_in_bounded_requests_and_lose_nothing(world: World) -> None:
    emails = _seed(world)
    world.project.connections["ct_bad"]["timeout"] = 0.2
    world.project.write_config()
    world.ct_bad.emu.latency = 0.5
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert "CleverTap did not answer within 0.2 s" in faulty.message
    assert world.ct_bad.emu.upload_count <= 3
    world.assert_healthy(results["healthy"], emails)
    print(f"timeouts gave up after {world.last_seconds:.2f}s")
    world.ct_bad.emu.latency = 0.0
    world.assert_recovers(emails, world.ct_bad)
    # The emulator stored the records of requests the client stopped waiting for, so a
    # timed-out batch is at-least-once: each retry may have been processed too.
    processed = world.ct_bad.emu.stats()["processed"]
    assert processed <= 10 * N
    print(f"records processed after timeouts and the final run: {processed} for {N}")


def test_connection_resets_are_retried(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.drop_next(2)
    results = world.run()
    assert results["faulty"].status == "ok", results["faulty"].line()
    assert world.ct_bad.emu.upload_count == 3
    world.assert_delivered_once("faulty", emails)
    assert max(world.ct_bad.uploaded().values()) == 1
    world.assert_healthy(results["healthy"], emails)


def test_a_response_lost_after_processing_sends_the_batch_at_most_twice(world: World) -> None:
    emails = _seed(world)
    world.ct_bad.emu.drop_next(1, after_processing=True)
    results = world.run()
    assert results["faulty"].status == "ok", results["faulty"].line()
    world.assert_delivered_once("faulty", emails)
    assert world.ct_bad.emu.stats()["processed"] == 2 * N  # the batch in flight, twice
    world.assert_healthy(results["healthy"], emails)


@pytest.mark.parametrize(
    ("form", "status"),
    [("string", "success"), ("object", "success"), ("mixed", "partial"), ("object", "fail")],
)
def test_partial_failures_fail_only_their_records_and_can_be_replayed(
    world: World, form: str, status: str
) -> None:
    world.ct_bad.emu.unprocessed_form = form
    world.ct_bad.emu.partial_status = status
    world.project.add_zap(contact_zap("faulty", sf="sf_good", ct="ct_bad", phone=True))
    world.project.add_zap(contact_zap("healthy", sf="sf_good", ct="ct_good"))
    world.start()
    rows = [
        {
            "FirstName": "Ada",
            "LastName": f"P {i}",
            "Email": f"p{i}@example.com",
            "Phone": "12345" if i % 3 == 0 else "+14155550100",
        }
        for i in range(N)
    ]
    world.sf_good.emu.create_many("Contact", rows)
    emails = [row["Email"] for row in rows]
    bad = {row["Email"] for row in rows if row["Phone"] == "12345"}
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    assert faulty.failed == len(bad) and faulty.delivered == N - len(bad)
    assert world.ct_bad.emu.upload_count == 1
    failed = world.tasks("faulty", "failed")
    assert {task.record["Email"] for task in failed} == bad
    for task in failed:
        assert task.error.startswith("step 'profile': ")
        assert "ErrorCode: 516" in task.error and "(code 516)" in task.error
        assert "Skipped record number" not in task.error or "Phone" in task.error
    assert world.ct_bad.identities() == set(emails) - bad
    world.assert_healthy(results["healthy"], emails)
    # Fix the mapping (no phone) and replay the failed tasks from their stored records.
    world.project.add_zap(contact_zap("faulty", sf="sf_good", ct="ct_bad"))
    uploads = world.ct_bad.emu.upload_count
    for task in failed:
        assert world.project.replay(task.id) == "success"
    assert world.ct_bad.emu.upload_count == uploads + len(bad)
    world.assert_delivered_once("faulty", emails)
    assert world.ct_bad.identities() == set(emails)
    assert world.run()["faulty"].found == 0
