"""``delete_profile`` over real HTTP against the CleverTap emulator: batches and partial failures."""

from __future__ import annotations

from typing import Any

import pytest
from zaplite_clevertap import app
from zaplite_clevertap.deletion import DeleteProfileParams

from zaplite import Failure, Success
from zaplite.errors import AuthError, PermanentError, RetryableError

delete_profile = app.actions["delete_profile"]
upload_profile = app.actions["upload_profile"]


def target(**values: Any) -> DeleteProfileParams:
    return DeleteProfileParams.model_validate(values)


def _seed(emu, identities: list[str]) -> None:
    emu.state.store(
        [{"identity": i, "type": "profile", "profileData": {"Email": i}} for i in identities], 1
    )


def _delete_bodies(emu) -> list[dict]:
    return [r["body"] for r in emu.requests if isinstance(r["body"], dict) and "d" not in r["body"]]


def test_delete_one_profile_and_its_events(emu, settings, run) -> None:
    _seed(emu, ["ada@example.com", "bob@example.com"])
    emu.state.events.append({"identity": "ada@example.com", "evtName": "X", "evtData": {}, "ts": 1})
    output = run(
        settings(), lambda ctx: delete_profile.perform(ctx, target(identity="ada@example.com"))
    )
    assert output == {"status": "success", "deleted": True, "identity": "ada@example.com"}
    assert set(emu.profiles) == {"bob@example.com"}
    assert emu.events == []
    assert _delete_bodies(emu) == [{"identity": ["ada@example.com"]}]


def test_a_batch_is_sent_100_ids_a_request_by_kind(emu, settings, run) -> None:
    identities = [f"user{i}@example.com" for i in range(250)]
    _seed(emu, identities)
    emu.state.store([{"objectId": "guid-1", "type": "profile", "profileData": {}}], 1)
    params = [target(identity=i) for i in identities] + [target(object_id="guid-1")]
    outcomes = run(settings(), lambda ctx: delete_profile.perform_batch(ctx, params))
    assert len(outcomes) == 251 and all(isinstance(o, Success) for o in outcomes)
    assert outcomes[-1].output == {"status": "success", "deleted": True, "object_id": "guid-1"}
    assert emu.profiles == {}
    sizes = sorted(len(next(iter(body.values()))) for body in _delete_bodies(emu))
    assert sizes == [1, 50, 100, 100]
    assert {"guid": ["guid-1"]} in _delete_bodies(emu)


def test_partial_failures_fail_only_their_own_records(emu, settings, run) -> None:
    identities = [f"user{i}@example.com" for i in range(150)]
    _seed(emu, identities)
    # Two requests (ids 0-99 and 100-149) go out together; whichever reaches CleverTap
    # first is refused for its content, and the other goes through.
    emu.fail_next(1, status=400, body={"status": "fail", "error": "Bad ids", "code": 400})
    params = [target(identity=i) for i in identities] + [target(identity=""), target()]
    outcomes = run(settings(), lambda ctx: delete_profile.perform_batch(ctx, params))
    failed = [i for i, outcome in enumerate(outcomes[:150]) if isinstance(outcome, Failure)]
    assert failed in (list(range(100)), list(range(100, 150)))
    assert all(isinstance(o, Success) for i, o in enumerate(outcomes[:150]) if i not in failed)
    assert all("Bad ids" in outcomes[i].message and outcomes[i].code == 400 for i in failed)
    assert [type(o) for o in outcomes[150:]] == [Failure, Failure]
    assert "neither identity nor object_id" in outcomes[-1].message
    assert set(emu.profiles) == {identities[i] for i in failed}


def test_a_non_success_answer_fails_the_request_and_says_so(emu, settings, run) -> None:
    _seed(emu, ["a@example.com"])
    emu.fail_next(1, status=200, body={"status": "fail", "error": "Profile locked"})
    [outcome] = run(
        settings(),
        lambda ctx: delete_profile.perform_batch(ctx, [target(identity="a@example.com")]),
    )
    assert isinstance(outcome, Failure)
    assert "did not confirm the deletion" in outcome.message and "Profile locked" in outcome.message
    with pytest.raises(PermanentError, match="Profile locked"):
        emu.fail_next(1, status=200, body={"status": "fail", "error": "Profile locked"})
        run(settings(), lambda ctx: delete_profile.perform(ctx, target(identity="a@example.com")))


def test_outages_and_bad_passcodes_raise_so_the_page_is_sent_again(emu, settings, run) -> None:
    _seed(emu, ["a@example.com"])
    emu.fail_next(10, status=503)
    with pytest.raises(RetryableError):
        run(
            settings(),
            lambda ctx: delete_profile.perform_batch(ctx, [target(identity="a@example.com")]),
            attempts=2,
        )
    emu.reset()
    with pytest.raises(AuthError):
        run(
            settings(passcode="wrong"),
            lambda ctx: delete_profile.perform_batch(ctx, [target(identity="a@example.com")]),
        )


def test_a_transient_fault_is_retried_and_the_delete_is_harmless_twice(emu, settings, run) -> None:
    _seed(emu, ["a@example.com"])
    emu.drop_next(1, after_processing=True)  # deleted, but the answer was lost
    output = run(
        settings(), lambda ctx: delete_profile.perform(ctx, target(identity="a@example.com"))
    )
    assert output["deleted"] is True and emu.profiles == {}


def test_preview_shows_the_requests_and_what_is_refused(settings) -> None:
    from zaplite_clevertap.connection import connect

    from tests.plugins.clevertap.conftest import context

    client = connect(settings())
    preview = delete_profile.preview_request(
        context(client), [target(identity="a@x.com"), target(object_id="g"), target()]
    )
    assert preview["url"].endswith("/1/delete/profiles.json")
    assert preview["headers"]["X-CleverTap-Passcode"] == "****"
    assert preview["requests"] == [{"identity": ["a@x.com"]}, {"guid": ["g"]}]
    assert [r["index"] for r in preview["refused"]] == [2]
