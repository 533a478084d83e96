"""Retries, rate limits, authentication and permanent errors over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from zaplite_clevertap import app
from zaplite_clevertap.connection import check_credentials, connect
from zaplite_clevertap.params import EventParams, ProfileParams

from zaplite import ActionContext, Failure, Success
from zaplite.errors import AuthError, PermanentError, RateLimited, RetryableError
from zaplite.sandbox.server import free_port

upload_profile = app.actions["upload_profile"]
upload_event = app.actions["upload_event"]
WON = EventParams(identity="jack", event_name="Deal Closed", event_properties={"Amount": 5})


def test_429_then_success_delivers_once(emu, settings, run) -> None:
    emu.fail_next(1, 429, retry_after=0)
    output = run(settings(), lambda ctx: upload_event.perform(ctx, WON))
    assert output["status"] == "success"
    assert emu.upload_count == 2
    assert len(emu.events) == 1


def test_retry_after_as_an_http_date_is_honoured(emu, settings, run) -> None:
    emu.fail_next(1, 429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")  # in the past: no wait
    run(settings(), lambda ctx: upload_event.perform(ctx, WON))
    assert len(emu.events) == 1


def test_a_5xx_burst_is_retried_and_delivered_once(emu, settings, run) -> None:
    emu.fail_next(2, 503)
    emu.fail_next(1, 500, body="Internal Server Error")
    output = run(settings(), lambda ctx: upload_event.perform(ctx, WON), attempts=5)
    assert output["evtName"] == "Deal Closed"
    assert emu.upload_count == 4
    assert len(emu.events) == 1


def test_5xx_retries_are_bounded_then_retryable(emu, settings, run) -> None:
    emu.fail_next(10, 503)
    with pytest.raises(RetryableError, match="HTTP 503") as caught:
        run(settings(), lambda ctx: upload_event.perform(ctx, WON), attempts=3)
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.code == 503
    assert emu.upload_count == 3
    assert emu.events == []


def test_429_retries_are_bounded_then_rate_limited(emu, settings, run) -> None:
    emu.fail_next(10, 429, retry_after=0)
    with pytest.raises(RateLimited) as caught:
        run(settings(), lambda ctx: upload_event.perform(ctx, WON), attempts=2)
    assert caught.value.retry_after == 0
    assert emu.upload_count == 2


def test_a_dropped_connection_is_retried(emu, settings, run) -> None:
    emu.drop_next(1)
    run(settings(), lambda ctx: upload_event.perform(ctx, WON))
    assert emu.upload_count == 2
    assert len(emu.events) == 1


def test_a_timeout_is_retried_then_retryable(emu, settings, run) -> None:
    emu.latency = 1.0
    with pytest.raises(RetryableError, match="did not answer within"):
        run(settings(timeout=0.1), lambda ctx: upload_event.perform(ctx, WON), attempts=2)
    assert emu.upload_count == 2


def test_nothing_listening_is_a_retryable_connection_error(settings, run) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RetryableError, match="could not reach CleverTap"):
        run(settings(endpoint=endpoint), lambda ctx: upload_event.perform(ctx, WON))


def test_a_400_is_permanent_with_clevertaps_message_and_not_retried(emu, settings, run) -> None:
    emu.fail_next(1, 400, body={"status": "fail", "error": "Malformed request", "code": 400})
    with pytest.raises(PermanentError, match="Malformed request") as caught:
        run(settings(), lambda ctx: upload_event.perform(ctx, WON))
    assert caught.value.code == 400
    assert emu.upload_count == 1


def test_a_wrong_passcode_is_a_clear_auth_error_without_the_passcode(emu, settings, run) -> None:
    secret = "WRONG-SECRET-PASSCODE"
    with pytest.raises(AuthError) as caught:
        run(settings(passcode=secret, region="in1"), lambda ctx: upload_event.perform(ctx, WON))
    message = str(caught.value)
    assert "TEST-ZAP-LITE" in message and "in1" in message
    assert "wrong passcode or a wrong region" in message
    assert secret not in message and "SANDBOX-PASSCODE" not in message
    assert caught.value.code == 401
    assert emu.upload_count == 1  # not retried


def test_the_connection_test_reads_a_profile(emu, settings) -> None:
    async def check(**overrides: Any) -> str:
        client = connect(settings(**overrides))
        try:
            return await check_credentials(client)
        finally:
            await client.aclose()

    said = asyncio.run(check(region="sg1"))
    assert said.startswith("account TEST-ZAP-LITE in region sg1")
    assert said.endswith(": passcode accepted")
    with pytest.raises(AuthError, match="wrong passcode or a wrong region") as caught:
        asyncio.run(check(passcode="nope-nope"))
    assert "nope-nope" not in str(caught.value)
    assert emu.upload_count == 0 and emu.profiles == {}


def test_a_fault_in_one_of_several_requests_fails_only_its_records(emu, settings, run) -> None:
    emu.fail_next(1, 400, body={"status": "fail", "error": "Malformed request", "code": 400})
    params = [ProfileParams(identity=f"p{n}") for n in range(4)]
    outcomes = run(settings(batch_size=2), lambda ctx: upload_profile.perform_batch(ctx, params))
    kinds = [type(outcome) for outcome in outcomes]
    assert kinds in ([Failure, Failure, Success, Success], [Success, Success, Failure, Failure])
    assert all("Malformed request" in o.message for o in outcomes if isinstance(o, Failure))
    assert len(emu.profiles) == 2


def test_an_outage_of_one_of_several_requests_is_raised_not_recorded(emu, settings, run) -> None:
    """A transient fault that outlasts the retries fails no record: the page is polled again."""
    emu.fail_next(1, 503)
    params = [ProfileParams(identity=f"p{n}") for n in range(4)]
    with pytest.raises(RetryableError):
        run(
            settings(batch_size=2),
            lambda ctx: upload_profile.perform_batch(ctx, params),
            attempts=1,
        )
    assert emu.upload_count == 2 and len(emu.profiles) == 2  # the other request did arrive


def test_when_every_request_fails_the_error_is_raised(emu, settings, run) -> None:
    emu.fail_next(2, 400, body={"status": "fail", "error": "Malformed request", "code": 400})
    params = [ProfileParams(identity=f"p{n}") for n in range(4)]
    with pytest.raises(PermanentError, match="Malformed request"):
        run(settings(batch_size=2), lambda ctx: upload_profile.perform_batch(ctx, params))


@pytest.mark.parametrize("limit", [15, 4])
def test_concurrency_never_exceeds_the_limit(emu, settings, run, limit) -> None:
    emu.latency = 0.02
    params = [ProfileParams(identity=f"c{n}") for n in range(300)]

    async def two_zaps(ctx: ActionContext) -> list[Any]:
        first, second = await asyncio.gather(
            upload_profile.perform_batch(ctx, params[:150]),
            upload_profile.perform_batch(ctx, params[150:]),
        )
        return [*first, *second]

    outcomes = run(settings(batch_size=5, max_concurrency=limit), two_zaps, attempts=1)
    assert all(isinstance(outcome, Success) for outcome in outcomes)
    stats = emu.stats()
    assert stats["throttled"] == 0
    assert stats["peak_in_flight"] <= limit
    assert emu.upload_count == 60
    assert len(emu.profiles) == 300


def test_two_connections_to_one_account_share_its_concurrency_limit(emu, settings) -> None:
    """Two connection tables for one account (profiles and events, say) share its limit."""
    emu.latency = 0.02
    profiles = [ProfileParams(identity=f"p{n}") for n in range(100)]
    events = [EventParams(identity=f"e{n}", event_name="Deal Closed") for n in range(100)]

    def ctx(client: Any, step: str) -> ActionContext:
        return ActionContext(zap_id="z", step_id=step, connection=client, log=logging.getLogger())

    async def both() -> list[Any]:
        first = connect(settings(batch_size=5, max_concurrency=3))
        second = connect(settings(batch_size=5, max_concurrency=3))
        try:
            a, b = await asyncio.gather(
                upload_profile.perform_batch(ctx(first, "profiles"), profiles),
                upload_event.perform_batch(ctx(second, "events"), events),
            )
        finally:
            await first.aclose()
            await second.aclose()
        return [*a, *b]

    outcomes = asyncio.run(both())
    assert all(isinstance(outcome, Success) for outcome in outcomes)
    stats = emu.stats()
    assert stats["throttled"] == 0
    assert stats["peak_in_flight"] <= 3, "one limit for the account, not one per table"
    assert emu.upload_count == 40


def test_a_retry_after_longer_than_our_longest_wait_is_cut_to_it(emu, settings, run) -> None:
    """CleverTap says 429 with Retry-After 120; the policy waits retry_max_wait, then tries again."""
    emu.fail_next(1, 429, retry_after=120)
    started = time.monotonic()
    output = run(settings(), lambda ctx: upload_event.perform(ctx, WON), max_wait=0.05)
    assert time.monotonic() - started < 30
    assert output["status"] == "success"
    assert emu.upload_count == 2


def test_the_plugin_itself_tries_a_request_once(emu, settings) -> None:
    """Retries are the engine's alone: a 429 reaches it after one request, with its wait."""
    emu.fail_next(1, 429, retry_after=7)

    async def once() -> None:
        client = connect(settings())
        try:
            ctx = ActionContext(
                zap_id="z", step_id="ct", connection=client, log=logging.getLogger()
            )
            await upload_event.perform(ctx, WON)
        finally:
            await client.aclose()

    with pytest.raises(RateLimited) as caught:
        asyncio.run(once())
    assert (caught.value.code, caught.value.retry_after) == (429, 7)
    assert emu.upload_count == 1
