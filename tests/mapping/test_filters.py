"""Filters: each operator, type coercions, dates, `changed`, AND/OR and the reasons given."""

from __future__ import annotations

import re
from typing import Any

import pytest

from zaplite.mapping.filters import evaluate, evaluate_condition
from zaplite.project.zapfile import Condition, FilterStep


def cond(field: str, op: str, *value: Any) -> Condition:
    data: dict[str, Any] = {"field": field, "op": op}
    if value:
        data["value"] = value[0]
    return Condition.model_validate(data)


def check(record: dict[str, Any], field: str, op: str, *value: Any, steps=None) -> bool:
    passed, reason = evaluate_condition(
        cond(field, op, *value), {"trigger": record, "steps": steps or {}}
    )
    assert isinstance(reason, str) and reason
    return passed


T = "{{trigger.X}}"


@pytest.mark.parametrize(
    ("x", "op", "expected"),
    [
        ("a", "exists", True),
        (0, "exists", True),
        (False, "exists", True),
        ("", "exists", False),
        (None, "exists", False),
        ("", "not_exists", True),
        ("a", "not_exists", False),
    ],
)
def test_exists(x: Any, op: str, expected: bool) -> None:
    assert check({"X": x}, T, op) is expected


def test_exists_on_missing_field() -> None:
    assert check({}, T, "exists") is False
    assert check({}, T, "not_exists") is True


@pytest.mark.parametrize(
    ("x", "value", "expected"),
    [
        (5, "5.0", True),
        ("5", 5, True),
        (5.5, "5.50", True),
        ("1e3", 1000, True),
        (5, "6", False),
        (True, "true", True),
        (True, "TRUE", True),
        (False, "true", False),
        ("true", True, True),
        (True, 1, False),  # a boolean is not a number
        ("Closed Won", "Closed Won", True),
        ("Closed Won", "closed won", False),  # equals is exact text
        ("abc", "abc ", False),
        (None, "", True),
        ("NaN", "NaN", True),  # not numbers: compared as text
        ({"a": 1}, '{"a": 1}', True),
    ],
)
def test_equals_rules(x: Any, value: Any, expected: bool) -> None:
    assert check({"X": x}, T, "equals", value) is expected
    assert check({"X": x}, T, "not_equals", value) is (not expected)


@pytest.mark.parametrize(
    ("x", "op", "value", "expected"),
    [
        ("Hello World", "contains", "WORLD", True),
        ("Hello World", "contains", "planet", False),
        ("Hello World", "not_contains", "planet", True),
        ("Hello World", "starts_with", "hello", True),
        ("Hello World", "ends_with", "WORLD", True),
        ("Hello World", "ends_with", "Hello", False),
        (["VIP", "Gold"], "contains", "vip", True),
        (["VIP", "Gold"], "contains", "Go", False),  # a list element must equal the value
        ([1, 2, 3], "contains", "2", True),
        ([], "contains", "x", False),
        (None, "contains", "x", False),
        (None, "not_contains", "x", True),
        (12345, "starts_with", "12", True),
    ],
)
def test_text_operators(x: Any, op: str, value: Any, expected: bool) -> None:
    assert check({"X": x}, T, op, value) is expected


@pytest.mark.parametrize(
    ("x", "value", "expected"),
    [
        ("Qualified", ["Prospecting", "Qualified"], True),
        ("Qualified", "Prospecting, Qualified", True),
        ("Closed", "Prospecting, Qualified", False),
        (5, ["5.0", "6"], True),
        ("5", "4,5,6", True),
        ("qualified", "Qualified", False),  # equals rules: exact text
        (True, ["true"], True),
    ],
)
def test_in(x: Any, value: Any, expected: bool) -> None:
    assert check({"X": x}, T, "in", value) is expected


def test_in_takes_a_list_from_a_template() -> None:
    record = {"X": "b", "Allowed": ["a", "b"]}
    assert check(record, T, "in", "{{trigger.Allowed}}") is True


@pytest.mark.parametrize(
    ("x", "op", "value", "expected"),
    [
        (5000, "gt", "1000", True),
        ("5000", "gt", 1000, True),
        ("10", "gt", "9", True),  # numerically, not as text
        (10, "gte", 10, True),
        (10, "lt", 10, False),
        (10, "lte", "10.0", True),
        ("2026-05-08T21:20:00.000+0000", "gt", "2026-05-08T21:19:59Z", True),
        ("2026-05-08T21:20:00.000+0000", "lt", "2026-05-09", True),
        ("2026-05-08", "gte", "2026-05-08T00:00:00Z", True),
        ("2026-05-08T23:00:00+02:00", "lt", "2026-05-08T21:30:00.000+0000", True),
        ("2026-05-08T21:20:00", "lt", "2026-05-08T21:20:00+01:00", False),  # naive is UTC
    ],
)
def test_ordering(x: Any, op: str, value: Any, expected: bool) -> None:
    assert check({"X": x}, T, op, value) is expected


@pytest.mark.parametrize(
    ("x", "value"),
    [("abc", 5), (None, 5), ("2026-05-08", 5), (True, 0), ({"a": 1}, 1), ("5", "later")],
)
def test_ordering_that_cannot_compare_is_false_with_a_reason(x: Any, value: Any) -> None:
    for op in ("gt", "gte", "lt", "lte"):
        passed, reason = evaluate_condition(cond(T, op, value), {"trigger": {"X": x}})
        assert passed is False
        assert "not both numbers or both dates" in reason


@pytest.mark.parametrize(
    ("x", "truthy"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (1, True),
        ("1", True),
        ("Yes", True),
        (" yes ", True),
        (False, False),
        ("false", False),
        (0, False),
        (2, False),
        ("no", False),
        ("", False),
        (None, False),
        ([True], False),
    ],
)
def test_is_true_and_is_false(x: Any, truthy: bool) -> None:
    assert check({"X": x}, T, "is_true") is truthy
    assert check({"X": x}, T, "is_false") is (not truthy)


def test_is_true_on_missing_field_is_false() -> None:
    assert check({}, T, "is_true") is False
    assert check({}, T, "is_false") is True


S = "{{trigger.StageName}}"


def test_changed_with_previous_values() -> None:
    record = {"StageName": "Closed Won", "Amount": 5, "_previous": {"StageName": "Negotiation"}}
    passed, reason = evaluate_condition(cond(S, "changed"), {"trigger": record})
    assert passed is True
    assert reason == "StageName changed was true ('Negotiation' → 'Closed Won')"
    same = {"StageName": "Closed Won", "_previous": {"StageName": "Closed Won"}}
    assert check(same, S, "changed") is False
    numeric_same = {"Amount": 5, "_previous": {"Amount": "5.0"}}
    assert check(numeric_same, "{{trigger.Amount}}", "changed") is False


def test_changed_field_not_watched_is_false() -> None:
    record = {"StageName": "Won", "Amount": 5, "_previous": {"StageName": "Won"}}
    passed, reason = evaluate_condition(cond("{{trigger.Amount}}", "changed"), {"trigger": record})
    assert passed is False
    assert "not among the watched fields" in reason


def test_changed_first_appearance_counts() -> None:
    passed, reason = evaluate_condition(cond(S, "changed"), {"trigger": {"StageName": "Won"}})
    assert passed is True
    assert "first appearance" in reason


def test_changed_on_nested_fields() -> None:
    flat = {"Owner": {"Name": "B"}, "_previous": {"Owner.Name": "A"}}
    nested = {"Owner": {"Name": "B"}, "_previous": {"Owner": {"Name": "A"}}}
    assert check(flat, "{{trigger.Owner.Name}}", "changed") is True
    assert check(nested, "{{trigger.Owner.Name}}", "changed") is True
    unchanged = {"Owner": {"Name": "A"}, "_previous": {"Owner": {"Name": "A"}}}
    assert check(unchanged, "{{trigger.Owner.Name}}", "changed") is False


def test_field_and_value_are_templates() -> None:
    record = {"First": "Ada", "Last": "Lovelace", "Expected": "Ada Lovelace"}
    assert check(record, "{{trigger.First}} {{trigger.Last}}", "equals", "{{trigger.Expected}}")
    steps = {"profile": {"status": "success"}}
    assert check({}, "{{steps.profile.status}}", "equals", "success", steps=steps)


def _step(conditions: list[dict[str, Any]]) -> FilterStep:
    return FilterStep.model_validate({"id": "f", "filter": conditions})


def test_and_over_the_list_reports_the_first_failure() -> None:
    step = _step(
        [
            {"field": S, "op": "equals", "value": "Closed Won"},
            {"field": "{{trigger.Amount}}", "op": "gt", "value": 1000},
        ]
    )
    assert evaluate(step.filter, {"trigger": {"StageName": "Closed Won", "Amount": 5000}})[0]
    passed, reason = evaluate(step.filter, {"trigger": {"StageName": "Prospecting", "Amount": 1}})
    assert passed is False
    assert reason == "StageName equals 'Closed Won' was false (value: 'Prospecting')"
    passed, reason = evaluate(step.filter, {"trigger": {"StageName": "Closed Won", "Amount": 1}})
    assert passed is False
    assert reason == "Amount is greater than 1000 was false (value: 1)"


def test_or_inside_any_and_nesting() -> None:
    step = _step(
        [
            {
                "any": [
                    {"field": S, "op": "equals", "value": "Closed Won"},
                    {
                        "any": [
                            {"field": "{{trigger.Amount}}", "op": "gte", "value": 1000},
                            {"field": "{{trigger.Vip}}", "op": "is_true"},
                        ]
                    },
                ]
            },
        ]
    )
    assert evaluate(step.filter, {"trigger": {"StageName": "Closed Won"}})[0] is True
    assert evaluate(step.filter, {"trigger": {"Amount": "1000"}})[0] is True
    assert evaluate(step.filter, {"trigger": {"Vip": "yes"}})[0] is True
    passed, reason = evaluate(step.filter, {"trigger": {"StageName": "Open", "Amount": 5}})
    assert passed is False
    assert reason.startswith("none passed: StageName equals 'Closed Won' was false")


def test_reason_for_a_pass_and_for_in() -> None:
    passed, reason = evaluate(
        _step([{"field": S, "op": "in", "value": "A, B"}]).filter, {"trigger": {"StageName": "B"}}
    )
    assert passed is True
    assert reason == "StageName is in 'A', 'B' was true"


def test_long_values_are_shortened_in_reasons() -> None:
    passed, reason = evaluate_condition(cond(T, "equals", "x"), {"trigger": {"X": "y" * 500}})
    assert passed is False
    assert len(reason) < 150


def test_every_operator_comes_from_one_table_and_is_documented() -> None:
    """The zap file's schema, the evaluation and the README all follow OPERATORS."""
    from pathlib import Path

    from zaplite.mapping.filters import OPERATORS
    from zaplite.project.zapfile import OPS

    assert tuple(OPERATORS) == OPS
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    listed = readme.split("- Operators:", 1)[1].split("\n  - ", 1)[0]
    assert [word.strip("`") for word in re.findall(r"`\w+`", listed)] == list(OPERATORS)
    for name, operator in OPERATORS.items():
        values = (
            () if operator.value == "none" else (["a"],) if operator.value == "list" else ("a",)
        )
        _, reason = evaluate_condition(
            cond("{{trigger.X}}", name, *values), {"trigger": {"X": "a"}}
        )
        assert operator.words in reason, (name, reason)
