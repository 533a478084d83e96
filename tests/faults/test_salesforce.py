"""The Salesforce fault matrix through the real engine and plugins, one test per fault.

Each test arms a fault on the *bad* org only and runs two zaps at once: ``faulty``
(bad org → good CleverTap) and ``healthy`` (good org → good CleverTap). It checks that
nothing is lost (every record delivered once, now or on the next run), that retries
are bounded (requests counted at the emulator), that the run's message says what
happened, and that the healthy zap delivered everything regardless.
"""

from __future__ import annotations

from dataclasses import replace

from tests.faults.world import World

N = 250  # two pages of 200


def _seed(world: World) -> tuple[list[str], list[str]]:
    world.sf_zaps()
    return world.sf_bad.add_contacts(N), world.sf_good.add_contacts(N)


def test_expired_session_in_the_middle_of_paging_is_renewed(world: World) -> None:
    bad, good = _seed(world)
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    world.sf_bad.emu.fail_next(1, status=401, body=expired, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    assert faulty.delivered == N and faulty.pages >= 2
    world.assert_delivered_once("faulty", bad)
    assert world.sf_bad.tokens() == 2  # the first sign-in and one renewal, no loop
    assert world.sf_bad.next_pages() == 2  # the next page, asked twice
    world.assert_healthy(results["healthy"], good)
    world.assert_recovers(bad, world.ct_good)


def test_revoked_refresh_token_fails_clearly_then_pauses(world: World) -> None:
    bad, good = _seed(world)
    emu = world.sf_bad.emu
    emu.credentials = replace(emu.credentials, refresh_token="revoked")
    emu.expire_tokens()
    world.project.set(pause_after_auth_failures=2)
    first = world.run()
    faulty = first["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith("authentication failed: Salesforce refused the sign-in")
    assert "expired access/refresh token" in faulty.message
    assert world.sf_bad.tokens() == 1  # a refused sign-in is not retried
    world.assert_healthy(first["healthy"], good)
    second = world.run()["faulty"]
    assert second.status == "paused"
    assert "paused after 2 runs in a row failed to authenticate" in second.message
    assert "zaplite resume faulty" in second.message
    assert world.tasks("faulty") == []  # nothing recorded, nothing lost
    assert world.run()["faulty"].status == "paused"
    assert world.sf_bad.tokens() == 2  # a paused zap does not even try
    runs = world.project.store.list_runs("faulty")
    assert runs[0].status == "paused" and "failed to authenticate" in (runs[0].message or "")
    emu.credentials = replace(
        emu.credentials, refresh_token=world.sf_good.emu.credentials.refresh_token
    )
    world.project.store.resume("faulty")
    world.assert_recovers(bad, world.ct_good)


def test_daily_quota_spent_fails_at_once_and_says_so(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.exhaust_quota()
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert "daily API request quota is spent" in faulty.message
    assert "Polling this connection waits 3600 s" in faulty.message
    assert world.sf_bad.count("/services/data/") == 1  # one refused request, no retry loop
    assert world.tasks("faulty") == []
    world.assert_healthy(results["healthy"], good)
    world.sf_bad.emu.set_quota(100_000, used=0)
    world.assert_recovers(bad, world.ct_good)


def test_a_spent_quota_is_not_polled_again_by_the_same_daemon(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.exhaust_quota()
    first, second = world.run_rounds(["faulty", "healthy"], ["faulty", "healthy"])
    assert first["faulty"].status == "failed"
    assert second["faulty"].status == "skipped"
    assert second["faulty"].message == "waiting for the service's API quota to renew"
    assert world.sf_bad.count("/services/data/") == 1  # the second round asked nothing
    world.assert_healthy(first["healthy"], good)
    assert second["healthy"].status == "ok" and second["healthy"].found == 0
    world.sf_bad.emu.set_quota(100_000, used=0)
    world.assert_recovers(bad, world.ct_good)


def test_quota_spent_in_the_middle_of_paging_keeps_the_pages_delivered(world: World) -> None:
    bad, good = _seed(world)
    spent = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    world.sf_bad.emu.fail_next(1, status=403, body=spent, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed" and "quota is spent" in faulty.message
    assert faulty.delivered == 200  # the first page, committed with its cursor
    world.assert_healthy(results["healthy"], good)
    world.assert_recovers(bad, world.ct_good)


def test_a_burst_of_503s_is_retried_through(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.fail_next(2, status=503)  # the first two requests: sign-in attempts
    world.sf_bad.emu.fail_next(2, status=500, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    world.assert_delivered_once("faulty", bad)
    assert world.sf_bad.tokens() == 3  # two refused with 503, then signed in
    # The describe, the first page (recorded) and the next one (failed); then the
    # engine's next attempt reads after that checkpoint and counts the look-back window
    # in one composite call (lookback.py): the window is not read again.
    assert world.sf_bad.count("/services/data/") == 1 + 2 + 1
    assert world.sf_bad.count("/composite") == 1
    world.assert_healthy(results["healthy"], good)
    print(f"503 burst: {world.last_seconds:.2f}s")
    world.assert_recovers(bad, world.ct_good)


def test_a_long_outage_gives_up_in_bounded_requests_and_loses_nothing(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.fail_next(1000, status=503, path_contains="/query")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith(
        "gave up after 3 attempts: Salesforce is unavailable (HTTP 503)"
    )
    assert "nothing was lost" in faulty.message
    # one query for each of the engine's 3 attempts; the client tries a request once
    assert world.sf_bad.queries() == 3
    assert world.tasks("faulty") == []
    world.assert_healthy(results["healthy"], good)
    print(f"long outage gave up after {world.last_seconds:.2f}s")
    runs = world.project.store.list_runs("faulty")
    assert runs[0].status == "failed" and "gave up after 3 attempts" in (runs[0].message or "")
    world.sf_bad.emu.reset_faults()
    world.assert_recovers(bad, world.ct_good)


def test_a_next_page_that_keeps_failing_gives_up_after_the_first_page_is_recorded(
    world: World,
) -> None:
    """Progress starts the count of attempts again; the attempts after it fail on their own."""
    bad, good = _seed(world)
    world.sf_bad.emu.fail_next(1000, status=500, path_contains="/query/")
    world.sf_bad.emu.fail_next(1000, status=500, path_contains="/composite")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith("gave up after 3 attempts")
    assert faulty.delivered == 200  # the first page, recorded once
    assert world.sf_bad.queries() == 2  # the first page and the failing next
    # then, from the checkpoint, the read after it with the window's count, twice more
    assert world.sf_bad.count("/composite") == 2
    world.assert_healthy(results["healthy"], good)
    world.sf_bad.emu.reset_faults()
    world.assert_recovers(bad, world.ct_good)


def test_read_timeouts_are_retried_a_bounded_number_of_times(world: World) -> None:
    bad, good = _seed(world)
    world.project.connections["sf_bad"]["timeout"] = 0.2
    world.project.write_config()
    world.sf_bad.emu.latency = 0.6
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert "gave up after 3 attempts" in faulty.message
    assert "timed out" in faulty.message or "did not answer within 0.2 s" in faulty.message
    assert world.sf_bad.count("/") <= 9
    assert world.tasks("faulty") == []
    world.assert_healthy(results["healthy"], good)
    print(f"timeouts gave up after {world.last_seconds:.2f}s")
    world.sf_bad.emu.latency = 0.0
    world.assert_recovers(bad, world.ct_good)


def test_connection_resets_are_retried(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.drop_next(1, path_contains="/query")
    world.sf_bad.emu.drop_next(2, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    world.assert_delivered_once("faulty", bad)
    # The first query dropped (attempt 1); then the first page (recorded) and the next
    # page dropped (attempt 2); then one composite call reads after the checkpoint and
    # counts the window (attempt 3, lookback.py).
    assert world.sf_bad.queries() == 1 + 2
    assert world.sf_bad.count("/composite") == 1
    world.assert_healthy(results["healthy"], good)
    world.assert_recovers(bad, world.ct_good)


def test_connection_resets_that_persist_give_up_and_say_so(world: World) -> None:
    bad, good = _seed(world)
    world.sf_bad.emu.drop_next(1000, path_contains="/query")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "failed"
    assert faulty.message.startswith("gave up after 3 attempts: Cannot reach Salesforce at")
    assert world.sf_bad.queries() == 3
    world.assert_healthy(results["healthy"], good)
    world.sf_bad.emu.reset_faults()
    world.assert_recovers(bad, world.ct_good)


def test_expired_query_locator_restarts_from_the_checkpoint(world: World) -> None:
    bad, good = _seed(world)
    expired = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
    world.sf_bad.emu.fail_next(1, status=400, body=expired, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    assert faulty.delivered == N
    world.assert_delivered_once("faulty", bad)
    world.assert_healthy(results["healthy"], good)
    world.assert_recovers(bad, world.ct_good)


def test_a_query_locator_that_keeps_expiring_gives_up_without_loss(world: World) -> None:
    """The try that keeps losing its cursor gives up; the next one reads after the checkpoint."""
    bad, good = _seed(world)
    expired = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
    world.sf_bad.emu.fail_next(1000, status=400, body=expired, path_contains="/query/")
    results = world.run()
    faulty = results["faulty"]
    assert faulty.status == "ok", faulty.line()
    world.assert_delivered_once("faulty", bad)
    # the first try: the first page (committed), then 1 + 3 restarts of the next page
    # before it gives up; the engine's second try reads after the checkpoint and counts
    # the window in one composite call (lookback.py), with no next page to lose
    assert world.sf_bad.next_pages() == 4
    assert world.sf_bad.count("/composite") == 1
    world.assert_healthy(results["healthy"], good)
    world.sf_bad.emu.reset_faults()
    world.assert_recovers(bad, world.ct_good)
