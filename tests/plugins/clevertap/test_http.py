"""Both actions end to end over real HTTP against the CleverTap emulator."""

from __future__ import annotations

from typing import Any

import pytest
from zaplite_clevertap import app
from zaplite_clevertap.params import EventParams, ProfileParams

from zaplite import ActionContext, Failure, Success
from zaplite.errors import PermanentError

upload_profile = app.actions["upload_profile"]
upload_event = app.actions["upload_event"]


def profile(**values: Any) -> ProfileParams:
    return ProfileParams.model_validate(values)


def event(**values: Any) -> EventParams:
    return EventParams.model_validate(values)


def test_upload_profile_creates_the_profile(emu, settings, run) -> None:
    params = profile(
        identity="jack@example.com",
        ts="2026-05-08T21:20:00.000+0000",
        profile='{"Name": "Jack Montana", "Email": "jack@example.com", "Phone": "+14155551234", '
        '"Lead Status": "Open", "Created": "2026-05-08"}',
    )
    output = run(settings(), lambda ctx: upload_profile.perform(ctx, params))
    assert output == {
        "status": "success",
        "type": "profile",
        "identity": "jack@example.com",
        "ts": 1778275200,
    }
    stored = emu.profiles["jack@example.com"]
    assert stored["profileData"] == {
        "Name": "Jack Montana",
        "Email": "jack@example.com",
        "Phone": "+14155551234",
        "Lead Status": "Open",
        "Created": "$D_1778198400",
    }
    assert emu.upload_count == 1
    headers = emu.requests[0]["headers"]
    assert {key.lower(): value for key, value in headers.items()}["x-clevertap-account-id"] == (
        "TEST-ZAP-LITE"
    )


def test_upload_event_records_the_event(emu, settings, run) -> None:
    params = event(
        identity="jack@example.com",
        ts=1778275200000,
        event_name="Deal Closed",
        event_properties={
            "Amount": 300,
            "Currency": "USD",
            "Close Date": "2026-05-08",
            "Salesperson": "Ann",
        },
    )
    output = run(settings(), lambda ctx: upload_event.perform(ctx, params))
    assert output["evtName"] == "Deal Closed" and output["ts"] == 1778275200
    (stored,) = emu.events
    assert stored["evtName"] == "Deal Closed"
    assert stored["ts"] == 1778275200
    assert stored["evtData"] == {
        "Amount": 300,
        "Currency": "USD",
        "Close Date": "$D_1778198400",
        "Salesperson": "Ann",
    }


def test_a_refused_single_record_raises_a_permanent_error_and_sends_nothing(
    emu, settings, run
) -> None:
    params = event(identity="jack", event_name="App Launched")
    with pytest.raises(PermanentError, match="restricted") as caught:
        run(settings(), lambda ctx: upload_event.perform(ctx, params), step="won")
    assert caught.value.code == 513
    assert "'won'" in str(caught.value)
    assert emu.upload_count == 0


def test_a_record_clevertap_refuses_fails_with_its_message_and_code(emu, settings, run) -> None:
    params = profile(identity="jack", profile={"Gender": "Martian"})
    with pytest.raises(PermanentError, match="Skipped record number : 1") as caught:
        run(settings(), lambda ctx: upload_profile.perform(ctx, params))
    assert caught.value.code == 514


def test_2500_records_go_in_3_requests(emu, settings, run) -> None:
    params = [profile(identity=f"user{n}@example.com", profile={"N": n}) for n in range(2500)]
    outcomes = run(settings(), lambda ctx: upload_profile.perform_batch(ctx, params))
    assert len(outcomes) == 2500
    assert all(isinstance(outcome, Success) for outcome in outcomes)
    assert outcomes[1234].output["identity"] == "user1234@example.com"
    assert emu.upload_count == 3
    assert sorted(len(request["body"]["d"]) for request in emu.requests) == [500, 1000, 1000]
    assert len(emu.profiles) == 2500
    assert emu.profiles["user2499@example.com"]["profileData"] == {"N": 2499}


@pytest.mark.parametrize("form", ["string", "object", "mixed"])
def test_invalid_records_fail_alone_in_every_response_form(emu, settings, run, form) -> None:
    emu.unprocessed_form = form
    bad = {3: ("Gender", "X", 514), 7: ("Email", "not-an-email", 515), 8: ("Phone", "555", 516)}
    params = []
    for n in range(12):
        props: dict[str, Any] = {"Name": f"User {n}"}
        if n in bad:
            key, value, _ = bad[n]
            props[key] = value
        identity = "" if n == 10 else f"u{n}"
        params.append(profile(identity=identity, profile=props))
    outcomes = run(settings(), lambda ctx: upload_profile.perform_batch(ctx, params), "sync")
    failed = {n: outcome for n, outcome in enumerate(outcomes) if isinstance(outcome, Failure)}
    assert sorted(failed) == [3, 7, 8, 10]
    for n, (_, _, code) in bad.items():
        assert failed[n].code == code
        assert "Skipped record number" in failed[n].message
    assert "'sync'" in failed[10].message and "identity or object_id" in failed[10].message
    assert emu.upload_count == 1
    assert len(emu.requests[0]["body"]["d"]) == 11  # the record without identity is not sent
    assert sorted(emu.profiles) == sorted(f"u{n}" for n in range(12) if n not in (3, 7, 8, 10))


def test_profiles_and_events_share_one_client(emu, settings, run) -> None:
    async def both(ctx: ActionContext) -> list[Any]:
        first = await upload_profile.perform_batch(ctx, [profile(object_id="__g1")])
        second = await upload_event.perform_batch(
            ctx, [event(object_id="__g1", event_name="Stage Changed")]
        )
        return [*first, *second]

    outcomes = run(settings(), both)
    assert [outcome.output["type"] for outcome in outcomes] == ["profile", "event"]
    assert emu.events[0]["objectId"] == "__g1"


def test_preview_shows_the_exact_request_with_the_passcode_masked(settings, run) -> None:
    params = [
        profile(identity="jack", ts="2026-05-08", profile={"Name": "Jack"}),
        profile(identity="", profile={"Name": "Nobody"}),
    ]
    request = run(settings(), lambda ctx: _preview(ctx, params))
    assert request["method"] == "POST"
    assert request["url"].endswith("/1/upload") and request["url"].startswith("http://127.0.0.1:")
    assert request["headers"]["X-CleverTap-Passcode"] == "****"
    assert request["headers"]["X-CleverTap-Account-Id"] == "TEST-ZAP-LITE"
    assert request["json"] == {
        "d": [
            {
                "identity": "jack",
                "ts": 1778198400,
                "type": "profile",
                "profileData": {"Name": "Jack"},
            }
        ]
    }
    assert request["refused"][0]["index"] == 1
    assert "SANDBOX-PASSCODE" not in repr(request)


async def _preview(ctx: ActionContext, params: list[Any]) -> Any:
    return upload_profile.preview_request(ctx, params)


def test_region_hosts_without_an_endpoint(settings) -> None:
    from zaplite_clevertap.connection import CleverTapClient, connect

    async def url(region: str) -> str:
        client: CleverTapClient = connect(settings(endpoint=None, region=region))
        try:
            return client.upload_url
        finally:
            await client.aclose()

    import asyncio

    assert asyncio.run(url("eu1")) == "https://api.clevertap.com/1/upload"
    assert asyncio.run(url("IN1")) == "https://in1.api.clevertap.com/1/upload"
    assert asyncio.run(url("mec1")) == "https://mec1.api.clevertap.com/1/upload"
