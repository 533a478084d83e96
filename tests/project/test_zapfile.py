"""Zap files: the shipped examples in zaps/ load; every field and error path gives (file, field, reason)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.zaps import shipped_zap, shipped_zap_ids
from zaplite.errors import FileError
from zaplite.project.zapfile import (
    ActionStep,
    AnyOf,
    Condition,
    FilterStep,
    Schedule,
    Zap,
    load_zap,
    load_zaps,
    parse_zap,
    parse_zap_text,
)

NEW_CONTACT = "new-contact-to-profile"
STAGE = "opportunity-stage-to-profile"
CLOSED_WON = "closed-won-to-event"


@pytest.mark.parametrize("zap_id", shipped_zap_ids())
def test_shipped_examples_load(zap_id: str, write_zap) -> None:
    path = write_zap(shipped_zap(zap_id), f"{zap_id}.json")
    zap = load_zap(path)
    assert zap.source == path
    assert zap.id == zap_id
    assert zap.steps


def test_new_contact_example_fields(write_zap) -> None:
    data = shipped_zap(NEW_CONTACT)
    data["trigger"]["connection"] = "salesforce"  # a zap may name the connections it uses
    data["steps"][0]["connection"] = "clevertap"
    zap = load_zap(write_zap(data))
    assert zap.name == "New Salesforce contact → CleverTap profile"
    assert zap.enabled is True
    assert zap.schedule.every == timedelta(minutes=1)
    assert zap.schedule.cron is None
    assert zap.schedule.describe() == "every 1m"
    assert zap.trigger.app == "salesforce"
    assert zap.trigger.event == "new_contact"
    assert zap.trigger.connection == "salesforce"
    assert zap.trigger.params["fields"] == data["trigger"]["params"]["fields"]
    assert zap.trigger.start == "now"
    (step,) = zap.steps
    assert isinstance(step, ActionStep)
    assert (step.id, step.app, step.action, step.connection) == (
        "profile",
        "clevertap",
        "upload_profile",
        "clevertap",
    )
    assert step.params["profile"]["Lead Status"] == "{{trigger.Lead_Status__c}}"
    assert zap.action_steps == [step]
    assert zap.step("profile") is step
    assert zap.step("nope") is None


def test_closed_won_example_on_a_cron_schedule_from_a_date() -> None:
    data = shipped_zap(CLOSED_WON)
    del data["name"]
    data["schedule"] = {"cron": "*/5 * * * *"}
    data["trigger"]["start"] = "2026-01-01T00:00:00Z"
    zap = parse_zap(data)
    assert zap.name == CLOSED_WON  # name defaults to the id
    assert zap.schedule.cron == "*/5 * * * *"
    assert zap.schedule.describe() == "cron */5 * * * *"
    assert zap.trigger.start == datetime(2026, 1, 1, tzinfo=UTC)
    won, deal = zap.steps
    assert isinstance(won, FilterStep) and isinstance(deal, ActionStep)
    assert [c.op for c in won.filter if isinstance(c, Condition)] == ["equals", "exists"]
    assert zap.action_steps == [deal]


def test_stage_update_example_defaults() -> None:
    data = shipped_zap(STAGE)
    del data["trigger"]["start"], data["description"]
    zap = parse_zap(data)
    assert zap.trigger.connection is None
    assert zap.trigger.start == "now"
    assert zap.description == ""


def test_defaults_of_a_minimal_zap() -> None:
    zap = parse_zap(
        {
            "id": "minimal",
            "trigger": {"app": "a", "event": "e"},
            "steps": [{"id": "s", "app": "b", "action": "x"}],
        }
    )
    assert zap.schedule == Schedule(every=timedelta(minutes=5))
    assert zap.enabled is True
    assert zap.trigger.params == {}
    assert zap.steps[0].params == {}
    assert zap.source is None


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1H 30M", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        (90, timedelta(seconds=90)),
        ("90", timedelta(seconds=90)),
    ],
)
def test_schedule_every_forms(every: Any, expected: timedelta) -> None:
    assert Schedule.model_validate({"every": every}).every == expected


def test_schedule_gives_apscheduler_triggers() -> None:
    interval = Schedule(every=timedelta(seconds=30)).apscheduler_trigger()
    assert interval.interval == timedelta(seconds=30)
    cron = Schedule(cron="0 9 * * 1-5").apscheduler_trigger()
    assert "hour='9'" in str(cron)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("now", "now"),
        ("all", "all"),
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-05-08T21:20:00.000+0000", datetime(2026, 5, 8, 21, 20, tzinfo=UTC)),
        ("2026-05-08T23:20:00+02:00", datetime(2026, 5, 8, 21, 20, tzinfo=UTC)),
        ("2026-05-08T21:20:00", datetime(2026, 5, 8, 21, 20, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_trigger_start_forms(start: str, expected: Any) -> None:
    data = shipped_zap(NEW_CONTACT)
    data["trigger"]["start"] = start
    value = parse_zap(data).trigger.start
    assert value == expected
    if isinstance(value, datetime):
        assert value.tzinfo is not None


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change: set a dotted path (digits index lists) in the zap data."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return change


def _add_step(step: dict[str, Any], at: int | None = None) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["steps"].insert(len(data["steps"]) if at is None else at, step)

    return change


F = "{{trigger.StageName}}"

ERROR_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # (example, change, field, reason fragment)
    (NEW_CONTACT, _drop("id"), "id", "required field is missing"),
    (NEW_CONTACT, _set("id", 5), "id", "expected text"),
    (NEW_CONTACT, _set("id", "New Contact"), "id", "must be lowercase letters"),
    (NEW_CONTACT, _set("name", ["x"]), "name", "expected text"),
    (NEW_CONTACT, _set("enabled", "yes"), "enabled", "expected true or false"),
    (NEW_CONTACT, _set("description", 1), "description", "expected text"),
    (NEW_CONTACT, _set("trigers", {}), "trigers", 'did you mean "trigger"?'),
    (NEW_CONTACT, _set("source", "x.json"), "source", "unknown field"),
    (NEW_CONTACT, _set("schedule", "5m"), "schedule", "expected an object"),
    (NEW_CONTACT, _set("schedule", {}), "schedule", 'give either "every"'),
    (
        NEW_CONTACT,
        _set("schedule", {"every": "5m", "cron": "* * * * *"}),
        "schedule",
        "only one of them",
    ),
    (NEW_CONTACT, _set("schedule", {"every": "0s"}), "schedule.every", "longer than zero"),
    (
        NEW_CONTACT,
        _set("schedule", {"every": "soon"}),
        "schedule.every",
        '"soon" is not a duration',
    ),
    (NEW_CONTACT, _set("schedule", {"every": True}), "schedule.every", "not a boolean"),
    (NEW_CONTACT, _set("schedule", {"cron": "* * *"}), "schedule.cron", "wrong number of fields"),
    (
        NEW_CONTACT,
        _set("schedule", {"cron": "61 * * * *"}),
        "schedule.cron",
        "is not a 5-field crontab expression",
    ),
    (NEW_CONTACT, _set("schedule", {"every": "5m", "at": 1}), "schedule.at", "unknown field"),
    (NEW_CONTACT, _drop("trigger"), "trigger", "required field is missing"),
    (NEW_CONTACT, _drop("trigger.event"), "trigger.event", "required field is missing"),
    (NEW_CONTACT, _set("trigger.app", ""), "trigger.app", "must not be empty"),
    (NEW_CONTACT, _set("trigger.connection", 3), "trigger.connection", "expected text"),
    (NEW_CONTACT, _set("trigger.params", []), "trigger.params", "expected an object"),
    (
        NEW_CONTACT,
        _set("trigger.start", "yesterday"),
        "trigger.start",
        'must be "now", "all" or an ISO-8601 date-time',
    ),
    (NEW_CONTACT, _set("trigger.start", 0), "trigger.start", 'must be "now", "all"'),
    (NEW_CONTACT, _set("trigger.evnt", "x"), "trigger.evnt", 'did you mean "event"?'),
    (
        NEW_CONTACT,
        _set("trigger.params.where", {"Email": "{{trigger.Email}}"}),
        "trigger.params.where.Email",
        "cannot be used in trigger params",
    ),
    (NEW_CONTACT, _set("steps", []), "steps", "must not be empty"),
    (NEW_CONTACT, _set("steps", {}), "steps", "expected a list"),
    (NEW_CONTACT, _set("steps.0", "profile"), "steps[0]", "expected an object"),
    (NEW_CONTACT, _drop("steps.0.action"), "steps[0].action", "required field is missing"),
    (NEW_CONTACT, _set("steps.0.id", "a b"), "steps[0].id", "must be letters, digits"),
    (NEW_CONTACT, _set("steps.0.acton", "x"), "steps[0].acton", 'did you mean "action"?'),
    (NEW_CONTACT, _set("steps.0.params", "x"), "steps[0].params", "expected an object"),
    (
        NEW_CONTACT,
        _set("steps.0.params.identity", "{{trigger.Email"),
        "steps[0].params.identity",
        "never closed",
    ),
    (
        NEW_CONTACT,
        _set("steps.0.params.profile.Name", "{{ trigger.First Name }}"),
        "steps[0].params.profile.Name",
        "contains a space",
    ),
    (
        NEW_CONTACT,
        _set("steps.0.params.list", ["ok", {"x": "{{record.X}}"}]),
        "steps[0].params.list[1].x",
        'must start with "trigger" or "steps"',
    ),
    (
        NEW_CONTACT,
        _set("steps.0.params.identity", "{{steps.profile.x}}"),
        "steps[0].params.identity",
        "does not run before this one",
    ),
    (
        NEW_CONTACT,
        _set("steps.0.params.identity", "{{steps.nope.x}}"),
        "steps[0].params.identity",
        "no step of that id",
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "profile", "app": "a", "action": "b"}),
        "steps[1].id",
        'the step id "profile" is already used by steps[0]',
    ),
    (NEW_CONTACT, _add_step({"id": "f", "filter": []}), "steps[1].filter", "must not be empty"),
    (NEW_CONTACT, _add_step({"id": "f", "filter": "x"}), "steps[1].filter", "expected a list"),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "equals"}]}),
        "steps[1].filter[0].value",
        'the "equals" operator needs a "value"',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "exists", "value": 1}]}),
        "steps[1].filter[0].value",
        'the "exists" operator takes no value',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "eq", "value": 1}]}),
        "steps[1].filter[0].op",
        '"eq" is not allowed; it must be',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": "StageName", "op": "exists"}]}),
        "steps[1].filter[0].field",
        'must be a template such as "{{trigger.StageName}}"',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "in", "value": 5}]}),
        "steps[1].filter[0].value",
        "needs a list or comma-separated text",
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "equals", "value": {"a": 1}}]}),
        "steps[1].filter[0].value",
        "must be text, a number or a boolean",
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": "{{steps.profile.x}}", "op": "changed"}]}),
        "steps[1].filter[0].field",
        'exactly one "{{trigger.<field>}}" template',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"field": F, "op": "exists", "valu": 1}]}),
        "steps[1].filter[0].valu",
        'did you mean "value"?',
    ),
    (
        NEW_CONTACT,
        _add_step({"id": "f", "filter": [{"any": []}]}),
        "steps[1].filter[0].any",
        "must not be empty",
    ),
    (
        NEW_CONTACT,
        _add_step(
            {
                "id": "f",
                "filter": [
                    {
                        "any": [
                            {"field": F, "op": "exists"},
                            {"any": [{"field": "{{trigger.X", "op": "exists"}]},
                        ]
                    }
                ],
            }
        ),
        "steps[1].filter[0].any[1].any[0].field",
        "never closed",
    ),
    (
        NEW_CONTACT,
        _add_step(
            {
                "id": "f",
                "filter": [{"any": [{"field": F, "op": "equals", "value": "{{steps.later.x}}"}]}],
            },
            at=0,
        ),
        "steps[0].filter[0].any[0].value",
        "no step of that id",
    ),
    (
        CLOSED_WON,
        _set("steps.1.params.identity", "{{steps.won.x}}"),
        "steps[1].params.identity",
        'refers to the filter step "won", which has no output',
    ),
    (
        CLOSED_WON,
        _set("steps.0.filter.0.value", "{{steps.event.status}}"),
        "steps[0].filter[0].value",
        'refers to the step "event", which does not run before',
    ),
]


@pytest.mark.parametrize(
    ("example", "change", "field", "reason"),
    ERROR_CASES,
    ids=[f"{case[2]}:{case[3][:30]}" for case in ERROR_CASES],
)
def test_zap_errors_name_file_field_reason(
    example: str, change: Callable[[dict[str, Any]], None], field: str, reason: str, write_zap
) -> None:
    data = shipped_zap(example)
    change(data)
    path = write_zap(data)
    with pytest.raises(FileError) as caught:
        load_zap(path)
    error = caught.value
    assert error.file == str(path)
    assert error.field == field
    assert reason in error.reason, error.reason
    assert str(error) == f"{path}: {field}: {error.reason}."
    assert "\n" not in str(error)


def test_later_step_may_use_an_earlier_action_output() -> None:
    data = shipped_zap(NEW_CONTACT)
    data["steps"].append(
        {
            "id": "check",
            "filter": [{"field": "{{steps.profile.status}}", "op": "equals", "value": "success"}],
        }
    )
    data["steps"].append(
        {
            "id": "event",
            "app": "clevertap",
            "action": "upload_event",
            "params": {"status": "{{steps.profile.status}}", "whole": "{{steps.profile}}"},
        }
    )
    zap = parse_zap(data)
    assert [s.id for s in zap.steps] == ["profile", "check", "event"]


def test_nested_any_groups_parse_into_models() -> None:
    step = FilterStep.model_validate(
        {
            "id": "f",
            "filter": [
                {"any": [{"field": F, "op": "exists"}, {"any": [{"field": F, "op": "is_true"}]}]}
            ],
        }
    )
    (group,) = step.filter
    assert isinstance(group, AnyOf)
    assert isinstance(group.any[0], Condition)
    assert isinstance(group.any[1], AnyOf)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty; a zap file holds one JSON object"),
        ("   \n", "the file is empty; a zap file holds one JSON object"),
        ('{"id": "x",\n  "name": }', "invalid JSON at line 2, column 11: expecting value"),
        ('{"id": "x", "id": "y"}', 'the key "id" appears twice in one object'),
        ("[1, 2]", "a zap file must hold one JSON object"),
        ('"text"', "a zap file must hold one JSON object"),
        ('{"id": NaN}', "invalid JSON: NaN is not valid JSON"),
        ("[" * 100000, "the JSON is nested too deeply"),
    ],
)
def test_malformed_files(text: str, reason: str, write_zap) -> None:
    path = write_zap(text)
    with pytest.raises(FileError) as caught:
        load_zap(path)
    assert (caught.value.file, caught.value.field, caught.value.reason) == (str(path), None, reason)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="the zap file does not exist"):
        load_zap(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"id": "\xff"}')
    with pytest.raises(FileError, match="is not UTF-8 text"):
        load_zap(bad)


def test_utf8_bom_is_accepted(write_zap) -> None:
    path = write_zap("")
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(shipped_zap(NEW_CONTACT)).encode())
    assert load_zap(path).id == "new-contact-to-profile"


def test_load_zaps_reports_bad_files_and_keeps_good_ones(tmp_path: Path, write_zap) -> None:
    write_zap(shipped_zap(NEW_CONTACT), "a.json")
    write_zap("{oops", "b.json")
    write_zap(shipped_zap(CLOSED_WON), "c.json")
    write_zap(shipped_zap(NEW_CONTACT), "d.json")  # the same id as a.json
    write_zap("not even json", ".hidden.json")
    write_zap("ignored", "notes.txt")
    seen: list[FileError] = []
    zaps, errors = load_zaps(tmp_path / "zaps", on_error=seen.append)
    assert [z.id for z in zaps] == [NEW_CONTACT, CLOSED_WON]
    assert [z.source.name for z in zaps if z.source] == ["a.json", "c.json"]
    assert [e.file for e in errors] == [
        str(tmp_path / "zaps" / "b.json"),
        str(tmp_path / "zaps" / "d.json"),
    ]
    assert errors[0].reason.startswith("invalid JSON at line 1, column 2")
    assert errors[1].field == "id"
    assert errors[1].reason == (
        f'the zap id "new-contact-to-profile" is already used by {tmp_path / "zaps" / "a.json"}'
        " (an older file); give this one another id"
    )
    assert seen == errors


def test_of_two_files_with_one_id_the_newer_is_blamed_and_the_older_runs(
    tmp_path: Path, write_zap
) -> None:
    """A copy made to edit (``my-contact.json``) sorts first but is the newer file."""
    import os

    original = write_zap(shipped_zap(NEW_CONTACT), "new-contact.json")
    os.utime(original, (1_700_000_000, 1_700_000_000))
    copy = write_zap(shipped_zap(NEW_CONTACT), "my-contact.json")
    zaps, errors = load_zaps(tmp_path / "zaps")
    assert [z.source for z in zaps] == [original]
    assert [(e.file, e.field) for e in errors] == [(str(copy), "id")]
    assert f"is already used by {original} (an older file)" in errors[0].reason


def test_zap_files_of_another_format_are_said_and_json_in_capitals_is_read(
    tmp_path: Path, write_zap
) -> None:
    write_zap(shipped_zap(NEW_CONTACT), "lead.JSON")
    write_zap("id: x", "x.yaml")
    write_zap("ignored", "notes.txt")
    zaps, errors = load_zaps(tmp_path / "zaps")
    assert [z.id for z in zaps] == [NEW_CONTACT]
    assert [e.file for e in errors] == [str(tmp_path / "zaps" / "x.yaml")]
    assert errors[0].reason == "zap files are JSON and end in .json; this .yaml file is not read"


def test_load_zaps_missing_folder(tmp_path: Path) -> None:
    zaps, errors = load_zaps(tmp_path / "nope")
    assert zaps == []
    assert [e.reason for e in errors] == ["the zaps folder does not exist"]


def test_load_zaps_a_zaps_folder_that_is_a_named_pipe_is_no_folder(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "zaps")
    zaps, errors = load_zaps(tmp_path / "zaps")
    assert zaps == []
    assert [e.reason for e in errors] == ["the zaps folder is not a folder"]


def test_parse_zap_text_without_a_file_name() -> None:
    with pytest.raises(FileError) as caught:
        parse_zap_text("{}")
    assert caught.value.file is None
    assert str(caught.value).startswith("id: required field is missing")


def test_zap_model_round_trips_through_json() -> None:
    zap = parse_zap(shipped_zap(CLOSED_WON))
    again = Zap.model_validate_json(zap.model_dump_json())
    assert again == zap
