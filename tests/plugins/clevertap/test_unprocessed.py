"""Mapping CleverTap's ``unprocessed`` entries back to the records they belong to."""

from __future__ import annotations

import json

import pytest
from zaplite_clevertap.unprocessed import map_unprocessed

from zaplite import Failure, Success
from zaplite.errors import PermanentError

SENT = [
    {"identity": "a@x.com", "ts": 1778275200, "type": "profile", "profileData": {}},
    {"identity": "", "ts": 1488804867, "type": "profile", "profileData": {}},
    {"identity": "c@x.com", "type": "event", "evtName": "App Launched", "evtData": {}},
]
MISSING = "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars"


def entry(number: int | None, record: object, code: int = 523, status: str = "fail") -> dict:
    suffix = f". Skipped record number : {number}" if number is not None else ""
    return {"status": status, "code": code, "error": f"{MISSING}{suffix}", "record": record}


def kinds(outcomes: list) -> list[str]:
    return [type(outcome).__name__ for outcome in outcomes]


def test_all_processed_gives_success_with_identity_and_type() -> None:
    outcomes = map_unprocessed(SENT, {"status": "success", "processed": 3, "unprocessed": []})
    assert kinds(outcomes) == ["Success"] * 3
    assert outcomes[0] == Success(
        output={"status": "success", "type": "profile", "identity": "a@x.com", "ts": 1778275200}
    )
    assert outcomes[2].output["evtName"] == "App Launched"


@pytest.mark.parametrize(
    "record",
    [json.dumps(SENT[1]), SENT[1], "{ not json", None],
    ids=["string", "object", "garbage", "absent"],
)
def test_the_skipped_record_number_picks_the_record(record: object) -> None:
    body = {"status": "success", "processed": 2, "unprocessed": [entry(2, record)]}
    outcomes = map_unprocessed(SENT, body)
    assert kinds(outcomes) == ["Success", "Failure", "Success"]
    assert outcomes[1] == Failure(message=f"{MISSING}. Skipped record number : 2", code=523)


@pytest.mark.parametrize("form", ["string", "object"])
def test_without_a_number_the_quoted_record_is_matched(form: str) -> None:
    quoted = {"identity": "c@x.com", "type": "event", "evtName": "App Launched"}
    record = json.dumps(quoted) if form == "string" else quoted
    body = {"status": "fail", "processed": 2, "unprocessed": [entry(None, record, 513)]}
    outcomes = map_unprocessed(SENT, body)
    assert kinds(outcomes) == ["Success", "Success", "Failure"]
    assert outcomes[2].code == 513


def test_a_status_success_entry_still_fails_its_record() -> None:
    body = {"status": "success", "unprocessed": [entry(1, "{}", 525, status="success")]}
    assert kinds(map_unprocessed(SENT, body)) == ["Failure", "Success", "Success"]


def test_mixed_forms_in_one_answer_map_each_entry() -> None:
    body = {
        "status": "success",
        "processed": 0,
        "unprocessed": [
            entry(3, SENT[2], 513),
            entry(None, json.dumps({"identity": "", "ts": 1488804867, "type": "profile"})),
            entry(1, json.dumps(SENT[0]), 514),
        ],
    }
    outcomes = map_unprocessed(SENT, body)
    assert [outcome.code for outcome in outcomes] == [514, 523, 513]


def test_a_number_out_of_range_falls_back_to_the_record() -> None:
    body = {"status": "success", "unprocessed": [entry(9, SENT[0], 514)]}
    assert kinds(map_unprocessed(SENT, body)) == ["Failure", "Success", "Success"]


def test_an_entry_that_matches_nothing_leaves_the_records_delivered() -> None:
    body = {"status": "success", "unprocessed": [entry(None, {"identity": "zzz"})]}
    assert kinds(map_unprocessed(SENT, body)) == ["Success"] * 3


def test_a_failed_answer_without_entries_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="Bad payload"):
        map_unprocessed(SENT, {"status": "fail", "error": "Bad payload", "code": 400})
    with pytest.raises(PermanentError):
        map_unprocessed(SENT, ["not", "an", "object"])
