"""Filter steps: evaluate a zap's conditions against one record, as Zapier's filter does.

A list of conditions is AND; ``{"any": [...]}`` is OR (and may nest). ``field`` and
``value`` are templates rendered against ``{"trigger": record, "steps": {...}}``.
Evaluation never raises: a comparison that cannot be made is false, with a reason.

- ``exists`` / ``not_exists``: the value is present and not ``None`` or ``""``.
- ``equals`` / ``not_equals``: numerically when both sides are numbers (``5 == "5.0"``),
  as booleans when one side is a boolean and the other a boolean or ``"true"``/``"false"``,
  otherwise as exact text.
- ``contains``, ``not_contains``, ``starts_with``, ``ends_with``: case-insensitive text;
  on a list field, ``contains`` means one element equals the value (case-insensitively).
- ``in``: the value is a list (or comma-separated text); membership by the equals rules.
- ``gt``, ``gte``, ``lt``, ``lte``: numbers when both sides are numbers, else date-times
  when both parse (Salesforce ``...000+0000``, ISO-8601, dates; no offset means UTC).
- ``is_true`` / ``is_false``: ``true``, ``"true"``, ``1``, ``"1"``, ``"yes"`` are true
  (case-insensitive); anything else, missing included, is false.
- ``changed``: the record's ``_previous`` maps watched fields to their old values
  (set by updated-record triggers). True when ``_previous`` has the field with another
  value, or when the record has no ``_previous`` at all (a first appearance).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from zaplite.mapping.templates import lookup, render, single_reference, to_text
from zaplite.mapping.values import parse_instant

__all__ = [
    "OPERATORS",
    "PREVIOUS_KEY",
    "ConditionLike",
    "Operator",
    "evaluate",
    "evaluate_condition",
]

PREVIOUS_KEY = "_previous"
"""The record key holding the previous values of watched fields (for ``changed``)."""

_TRUE_WORDS = frozenset({"true", "1", "yes"})
_MAX_SHOWN = 60


# --------------------------------------------------------------------------- coercions


def _number(value: Any) -> Decimal | None:
    """The number a value stands for (numbers and numeric text), or ``None``. Booleans are not."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 100:
            return None
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def _boolean_word(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _equal(left: Any, right: Any, *, fold: bool = False) -> bool:
    """The equals rules: numbers numerically, booleans as booleans, else exact (or folded) text."""
    left_num, right_num = _number(left), _number(right)
    if left_num is not None and right_num is not None:
        return left_num == right_num
    if isinstance(left, bool) or isinstance(right, bool):
        left_bool, right_bool = _boolean_word(left), _boolean_word(right)
        if left_bool is not None and right_bool is not None:
            return left_bool == right_bool
    left_text, right_text = to_text(left), to_text(right)
    if fold:
        return left_text.casefold() == right_text.casefold()
    return left_text == right_text


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return False


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _options(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if value is None:
        return []
    return [value]


def _ordered(actual: Any, expected: Any) -> tuple[Any, Any] | None:
    """Both sides as comparable numbers, or as date-times, or ``None``."""
    left_num, right_num = _number(actual), _number(expected)
    if left_num is not None and right_num is not None:
        return left_num, right_num
    left_time, right_time = parse_instant(actual), parse_instant(expected)
    if left_time is not None and right_time is not None:
        return left_time, right_time
    return None


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list | tuple):
        return any(_equal(item, expected, fold=True) for item in actual)
    return to_text(expected).casefold() in to_text(actual).casefold()


# --------------------------------------------------------------------------- display


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return "'" + text.replace("'", "\\'") + "'"


def _label(field: str) -> str:
    """``{{trigger.StageName}}`` -> ``StageName``; other templates shown as written."""
    path = single_reference(field.strip())
    if path is None:
        return field.strip()
    if path[0] == "trigger" and len(path) > 1:
        return ".".join(path[1:])
    return ".".join(path)


# --------------------------------------------------------------------------- the operators


def _compare(order: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool | str]:
    """An ordering test on numbers or date-times; a reason when the sides are neither."""

    def test(actual: Any, expected: Any) -> bool | str:
        pair = _ordered(actual, expected)
        if pair is None:
            return "the two sides are not both numbers or both dates"
        try:
            return order(*pair)
        except TypeError:
            return "the two sides cannot be compared"

    return test


@dataclass(frozen=True)
class Operator:
    """A filter operator: its name in zap files, how it reads, what value it takes, its test.

    ``value`` is ``"none"`` (the operator takes no value), ``"one"`` (text, a number or
    a boolean) or ``"list"`` (a list, or comma-separated text). ``test(actual,
    expected)`` returns whether the condition holds, or a reason why the two sides
    cannot be compared. ``on_trigger_field`` operators (``changed``) need a field that
    is exactly one ``{{trigger.<field>}}`` template and are evaluated on the record.
    """

    name: str
    words: str
    value: Literal["none", "one", "list"]
    test: Callable[[Any, Any], bool | str]
    on_trigger_field: bool = False


def _never(actual: Any, expected: Any) -> bool | str:
    return "it is evaluated on the record"  # ``changed`` is evaluated by _changed


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("exists", "exists", "none", lambda a, _: _present(a)),
        Operator("not_exists", "does not exist", "none", lambda a, _: not _present(a)),
        Operator("equals", "equals", "one", _equal),
        Operator("not_equals", "does not equal", "one", lambda a, e: not _equal(a, e)),
        Operator("contains", "contains", "one", _contains),
        Operator("not_contains", "does not contain", "one", lambda a, e: not _contains(a, e)),
        Operator(
            "starts_with",
            "starts with",
            "one",
            lambda a, e: to_text(a).casefold().startswith(to_text(e).casefold()),
        ),
        Operator(
            "ends_with",
            "ends with",
            "one",
            lambda a, e: to_text(a).casefold().endswith(to_text(e).casefold()),
        ),
        Operator("in", "is in", "list", lambda a, e: any(_equal(a, o) for o in _options(e))),
        Operator("gt", "is greater than", "one", _compare(lambda a, b: a > b)),
        Operator("gte", "is at least", "one", _compare(lambda a, b: a >= b)),
        Operator("lt", "is less than", "one", _compare(lambda a, b: a < b)),
        Operator("lte", "is at most", "one", _compare(lambda a, b: a <= b)),
        Operator("is_true", "is true", "none", lambda a, _: _truthy(a)),
        Operator("is_false", "is false", "none", lambda a, _: not _truthy(a)),
        Operator("changed", "changed", "none", _never, on_trigger_field=True),
    )
}
"""Every filter operator, in the order the documentation lists them.

Adding an operator is one entry here: the zap file's schema, ``validate`` and the
filter's reasons all read this table.
"""


class ConditionLike(Protocol):
    """One filter condition as the zap file's model gives it."""

    field: str
    op: str
    value: Any


class AnyOfLike(Protocol):
    """``{"any": [...]}``: a group of conditions, one of which must pass."""

    any: Sequence[ConditionLike | AnyOfLike]


# --------------------------------------------------------------------------- evaluation


def _changed(condition: ConditionLike, context: Mapping[str, Any]) -> tuple[bool, str]:
    label = _label(condition.field)
    path = single_reference(condition.field.strip())
    record = context.get("trigger")
    if path is None or path[0] != "trigger" or len(path) < 2:
        return (
            False,
            f"{label} changed cannot be checked: the field must be one {{{{trigger.<field>}}}}",
        )
    if not isinstance(record, Mapping):
        return True, f"{label} changed was true (first appearance)"
    previous = record.get(PREVIOUS_KEY)
    if not isinstance(previous, Mapping):
        return True, f"{label} changed was true (first appearance)"
    key = ".".join(path[1:])
    if key in previous:
        old = previous[key]
    else:
        missing = object()
        old = _walk(previous, path[1:], missing)
        if old is missing:
            return False, f"{label} changed was false (not among the watched fields)"
    new = lookup(record, path[1:])
    if _equal(old, new):
        return False, f"{label} changed was false (value: {_shown(new)})"
    return True, f"{label} changed was true ({_shown(old)} → {_shown(new)})"


def _walk(data: Any, path: Sequence[str], missing: object) -> Any:
    current = data
    for segment in path:
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        else:
            return missing
    return current


def evaluate_condition(condition: ConditionLike, context: Mapping[str, Any]) -> tuple[bool, str]:
    """Evaluate one condition; ``(passed, reason)``. Never raises."""
    operator = OPERATORS.get(condition.op)
    if operator is None:
        return False, f'"{condition.op}" is not a known operator'
    try:
        if operator.on_trigger_field:
            return _changed(condition, context)
        label = _label(condition.field)
        actual = render(condition.field, context)
        expected = render(condition.value, context)
        result = operator.test(actual, expected)
    except Exception as error:  # a filter must never stop the zap with a traceback
        return False, f"{condition.field} {condition.op} could not be evaluated ({error})"
    if operator.value == "list":
        target = " " + ", ".join(_shown(option) for option in _options(expected))
    elif operator.value == "none":
        target = ""
    else:
        target = f" {_shown(expected)}"
    statement = f"{label} {operator.words}{target}"
    if isinstance(result, str):
        return False, f"{statement} was false: {result} (value: {_shown(actual)})"
    if result:
        return True, f"{statement} was true"
    return False, f"{statement} was false (value: {_shown(actual)})"


def _evaluate_item(item: ConditionLike | AnyOfLike, context: Mapping[str, Any]) -> tuple[bool, str]:
    members = getattr(item, "any", None)
    if members is not None:
        failures: list[str] = []
        for member in members:
            passed, reason = _evaluate_item(member, context)
            if passed:
                return True, reason
            failures.append(reason)
        return False, "none passed: " + "; ".join(failures)
    return evaluate_condition(item, context)  # type: ignore[arg-type]


def evaluate(
    conditions: Sequence[ConditionLike | AnyOfLike], context: Mapping[str, Any]
) -> tuple[bool, str]:
    """AND over ``conditions`` (OR inside :class:`AnyOf`); returns ``(passed, reason)``.

    The reason is a short sentence for the task history: the first condition that
    failed (``"StageName equals 'Closed Won' was false (value: 'Prospecting')"``), or
    what passed. Never raises.
    """
    passed_reasons: list[str] = []
    for item in conditions:
        passed, reason = _evaluate_item(item, context)
        if not passed:
            return False, reason
        passed_reasons.append(reason)
    return True, "; ".join(passed_reasons) if passed_reasons else "no conditions"
