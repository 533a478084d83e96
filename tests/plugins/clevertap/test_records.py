"""Building upload records from params: identities, ts, properties, dates, refusals."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from zaplite_clevertap.params import EventParams, ProfileParams
from zaplite_clevertap.records import RESTRICTED_EVENTS, build_record

from zaplite import Failure

EVENING = 1778275200


def profile(**params: object) -> dict | Failure:
    return build_record(ProfileParams.model_validate(params), "profile")


def event(**params: object) -> dict | Failure:
    return build_record(EventParams.model_validate(params), "deal")


def test_a_profile_record_has_the_upload_api_shape() -> None:
    record = profile(
        identity="jack@example.com",
        ts="2026-05-08T21:20:00.000+0000",
        profile={"Name": "Jack Montana", "Phone": "+14155551234", "Customer Type": "Platinum"},
    )
    assert record == {
        "identity": "jack@example.com",
        "ts": 1778275200,
        "type": "profile",
        "profileData": {
            "Name": "Jack Montana",
            "Phone": "+14155551234",
            "Customer Type": "Platinum",
        },
    }


def test_an_event_record_has_the_upload_api_shape() -> None:
    record = event(
        object_id="__g1234",
        ts=EVENING,
        event_name="Deal Closed",
        event_properties={"Amount": 300, "Currency": "USD", "Close Date": "2026-05-08"},
    )
    assert record == {
        "objectId": "__g1234",
        "ts": EVENING,
        "type": "event",
        "evtName": "Deal Closed",
        "evtData": {"Amount": 300, "Currency": "USD", "Close Date": "$D_1778198400"},
    }


def test_json_string_properties_are_accepted_like_zapiers_json_fields() -> None:
    text = json.dumps({"Name": "Jack", "Lead Status": "Open", "Score": 7})
    record = profile(identity="jack", profile=text)
    assert record["profileData"] == {"Name": "Jack", "Lead Status": "Open", "Score": 7}


def test_empty_and_missing_values_are_dropped_not_sent() -> None:
    record = profile(identity="jack", profile={"Name": "Jack", "Phone": "", "Title": None})
    assert record["profileData"] == {"Name": "Jack"}


def test_absent_or_empty_ts_is_omitted_so_clevertap_uses_now() -> None:
    assert "ts" not in profile(identity="jack")
    assert "ts" not in profile(identity="jack", ts="")
    assert "ts" not in profile(identity="jack", ts="  ")


def test_both_identity_and_object_id_are_sent_when_both_are_given() -> None:
    record = profile(identity=12345, object_id="__g1")
    assert record["identity"] == "12345"
    assert record["objectId"] == "__g1"


@pytest.mark.parametrize(
    "ids", [{}, {"identity": ""}, {"identity": "  ", "object_id": ""}, {"object_id": None}]
)
def test_no_identity_is_a_failure_naming_the_step(ids: dict) -> None:
    outcome = profile(**ids, profile={"Name": "Jack"})
    assert isinstance(outcome, Failure)
    assert "'profile'" in outcome.message
    assert "identity or object_id is required" in outcome.message


def test_iso_strings_and_date_fields_become_clevertap_dates() -> None:
    record = profile(
        identity="jack",
        profile={
            "Created": "2026-05-08T21:20:00.000+0000",
            "Birthday": "1990-02-20",
            "Renewal": 1778275200000,
            "Joined": "1778275200",
            "Tags": ["2026-05-08", "vip"],
            "Phone": "+14155551234",
            "Zip": "20260508",
        },
        date_fields=["Renewal", "Joined"],
    )
    assert record["profileData"] == {
        "Created": "$D_1778275200",
        "Birthday": "$D_635472000",
        "Renewal": "$D_1778275200",
        "Joined": "$D_1778275200",
        "Tags": ["$D_1778198400", "vip"],
        "Phone": "+14155551234",
        "Zip": "20260508",
    }


def test_date_fields_may_be_a_comma_separated_string() -> None:
    params = ProfileParams.model_validate({"identity": "j", "date_fields": "A, B ,,C"})
    assert params.date_fields == ["A", "B", "C"]


def test_a_date_field_that_is_no_date_is_refused_with_its_name() -> None:
    outcome = profile(identity="jack", profile={"Renewal": "soon"}, date_fields=["Renewal"])
    assert isinstance(outcome, Failure)
    assert "'Renewal'" in outcome.message and "date_fields" in outcome.message


@pytest.mark.parametrize("name", [*sorted(RESTRICTED_EVENTS), "app launched", " Stayed "])
def test_restricted_system_events_are_refused_before_sending(name: str) -> None:
    outcome = event(identity="jack", event_name=name)
    assert isinstance(outcome, Failure)
    assert outcome.code == 513
    assert "restricted" in outcome.message


def test_empty_event_name_is_refused() -> None:
    outcome = event(identity="jack", event_name=" ")
    assert isinstance(outcome, Failure) and outcome.code == 509


def test_keys_over_120_bytes_and_values_over_512_bytes_are_refused() -> None:
    long_key = "é" * 61  # 122 bytes, 61 characters
    outcome = profile(identity="jack", profile={long_key: "x"})
    assert isinstance(outcome, Failure) and "122 bytes" in outcome.message
    outcome = profile(identity="jack", profile={"Bio": "x" * 513})
    assert isinstance(outcome, Failure) and "513 bytes" in outcome.message
    assert "most 512" in outcome.message
    fits = profile(identity="jack", profile={"k" * 120: "x" * 512})
    assert isinstance(fits, dict)


@pytest.mark.parametrize("ts", ["yesterday", "0", 0, -5, "2026-02-30"])
def test_a_bad_ts_fails_the_record_with_the_reason(ts: object) -> None:
    outcome = profile(identity="jack", ts=ts)
    assert isinstance(outcome, Failure)
    assert outcome.code == 525
    assert "ts" in outcome.message


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"Jack"'])
def test_bad_json_properties_fail_the_record(text: str) -> None:
    outcome = profile(identity="jack", profile=text)
    assert isinstance(outcome, Failure)
    assert "profile" in outcome.message


def test_params_models_forbid_unknown_fields_and_accept_templates() -> None:
    with pytest.raises(ValidationError):
        ProfileParams.model_validate({"identity": "j", "profil": {}})
    with pytest.raises(ValidationError):
        EventParams.model_validate({"identity": "j"})
    templated = EventParams.model_validate(
        {
            "identity": "{{trigger.Email}}",
            "ts": "{{trigger.CloseDate}}",
            "event_name": "Deal Closed",
            "event_properties": '{"Amount": "{{trigger.Amount}}"}',
        }
    )
    assert templated.ts == "{{trigger.CloseDate}}"


def test_python_dates_and_decimals_from_a_python_trigger_are_converted() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    record = profile(
        identity="jack",
        profile={
            "Seen": datetime(2026, 5, 8, 21, 20, tzinfo=UTC),
            "Day": date(2026, 5, 8),
            "Amount": Decimal("12.50"),
            "Count": Decimal("3"),
        },
    )
    assert record["profileData"] == {
        "Seen": "$D_1778275200",
        "Day": "$D_1778198400",
        "Amount": 12.5,
        "Count": 3,
    }


def test_non_finite_numbers_are_refused() -> None:
    outcome = profile(identity="jack", profile={"Score": float("nan")})
    assert isinstance(outcome, Failure) and "'Score'" in outcome.message


def test_the_fast_paths_for_plain_strings_decide_as_the_general_ones() -> None:
    record = profile(
        identity="jack",
        profile={
            "Padded": "  2026-05-08 ",  # a date behind whitespace is still a date
            "Sentence": "2026-05-08 is the day",  # starts like a date, is not one
            "Dashes": "ab-cd-ef-gh-ij",
            "Accented": "é" * 128,  # 256 bytes: fits
        },
    )
    assert isinstance(record, dict)
    assert record["profileData"] == {
        "Padded": "$D_1778198400",
        "Sentence": "2026-05-08 is the day",
        "Dashes": "ab-cd-ef-gh-ij",
        "Accented": "é" * 128,
    }
    outcome = profile(identity="jack", profile={"Accented": "é" * 257})  # 514 bytes
    assert isinstance(outcome, Failure) and "514 bytes" in outcome.message


@pytest.mark.parametrize(
    "ts",
    [
        "2026-05-08T21:20:00.000+0000",
        "2026-05-08T21:20:00Z",
        "2026-05-08 21:20:00.999999999+00:00",  # nanoseconds: Python cannot read it as it is
        "2026-05-09T02:50:00+05:30",
        " 2026-05-08T21:20:00Z ",
    ],
)
def test_every_date_time_form_of_ts_gives_the_same_second(ts: str) -> None:
    record = profile(identity="jack", ts=ts)
    assert isinstance(record, dict) and record["ts"] == 1778275200


def test_the_record_is_built_when_the_params_are_validated() -> None:
    # The engine validates a page's params ahead of sending it, so the upload record
    # (dates converted, refusals found) must be made then, not on the critical path.
    params = ProfileParams.model_validate(
        {"identity": "jack@example.com", "ts": "2026-05-08", "profile": {"Since": "2026-05-08"}}
    )
    built = params.upload_record()
    assert isinstance(built, dict)
    assert built["profileData"] == {"Since": "$D_1778198400"}
    assert build_record(params, "profile") is built
    assert build_record(params, "profile") is build_record(params, "again")


def test_a_refusal_found_at_validation_names_the_step_that_sends_it() -> None:
    params = EventParams.model_validate({"identity": "jack", "event_name": "App Launched"})
    first, second = build_record(params, "deal"), build_record(params, "other")
    assert isinstance(first, Failure) and isinstance(second, Failure)
    assert first.message.startswith("step 'deal': 'App Launched' is a restricted")
    assert second.message.startswith("step 'other': ")
    assert first.code == second.code == 513


def test_params_are_frozen_so_the_built_record_cannot_go_stale() -> None:
    params = ProfileParams.model_validate({"identity": "jack", "profile": {"Name": "Jack"}})
    with pytest.raises(ValidationError):
        params.identity = "jill"  # type: ignore[misc]
    assert build_record(params, "profile") == {
        "identity": "jack",
        "type": "profile",
        "profileData": {"Name": "Jack"},
    }


def test_copies_and_unvalidated_params_still_give_their_own_record() -> None:
    params = ProfileParams.model_validate({"identity": "jack", "profile": {"Name": "Jack"}})
    changed = params.model_copy(update={"identity": "jill"})
    assert build_record(changed, "profile")["identity"] == "jill"  # type: ignore[index]
    assert build_record(params, "profile")["identity"] == "jack"  # type: ignore[index]
    constructed = ProfileParams.model_construct(identity="joe", profile={}, date_fields=[])
    assert build_record(constructed, "profile") == {
        "identity": "joe",
        "type": "profile",
        "profileData": {},
    }
