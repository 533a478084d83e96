"""Templates: native types, text rendering, missing fields, syntax checks, JSON-string params."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from zaplite.mapping.compiled import compile_template
from zaplite.mapping.templates import (
    MAX_DEPTH,
    MAX_TEMPLATE_TEXT,
    MAX_TEMPLATES_PER_STRING,
    MAX_TEMPLATES_PER_ZAP,
    TemplateError,
    check,
    parse_json_strings,
    references,
    render,
    to_text,
)

RECORD: dict[str, Any] = {
    "Id": "003A",
    "Amount": 5000.5,
    "Count": 3,
    "Active": True,
    "Empty": None,
    "Owner": {"Name": "Ada Lovelace", "Email": "ada@example.com"},
    "Tags": ["vip", {"code": "B2"}],
    "Quote": 'He said "hi" \\ bye',
    "Lead_Status__c": "Open",
}
CONTEXT = {"trigger": RECORD, "steps": {"profile": {"status": "success", "processed": 1}}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{trigger.Amount}}", 5000.5),
        ("{{trigger.Count}}", 3),
        ("{{trigger.Active}}", True),
        ("{{trigger.Empty}}", None),
        ("{{trigger.Owner}}", {"Name": "Ada Lovelace", "Email": "ada@example.com"}),
        ("{{trigger.Tags}}", ["vip", {"code": "B2"}]),
        ("{{ trigger.Owner.Name }}", "Ada Lovelace"),
        ("{{trigger.Tags.0}}", "vip"),
        ("{{trigger.Tags.1.code}}", "B2"),
        ("{{trigger.Lead_Status__c}}", "Open"),
        ("{{steps.profile.processed}}", 1),
        ("{{trigger.Missing}}", None),
        ("{{trigger.Owner.Missing.Deeper}}", None),
        ("{{trigger.Tags.7}}", None),
        ("{{trigger.Count.x}}", None),
        ("{{steps.nope.x}}", None),
    ],
)
def test_exact_template_keeps_native_type(template: str, expected: Any) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{trigger.Owner.Name}} <{{trigger.Owner.Email}}>", "Ada Lovelace <ada@example.com>"),
        ("Amount: {{trigger.Amount}}", "Amount: 5000.5"),
        ("n={{trigger.Count}}", "n=3"),
        ("active={{trigger.Active}}", "active=true"),
        ("[{{trigger.Empty}}]", "[]"),
        ("[{{trigger.Missing}}]", "[]"),
        ("owner={{trigger.Owner}}", 'owner={"Name": "Ada Lovelace", "Email": "ada@example.com"}'),
        ("tags={{trigger.Tags}}", 'tags=["vip", {"code": "B2"}]'),
        (" {{trigger.Count}} ", " 3 "),
        ("{{trigger.Count}}{{trigger.Count}}", "33"),
        ("no templates here", "no templates here"),
        ("{{{trigger.Count}}}", "{3}"),
    ],
)
def test_templates_inside_text_render_as_text(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_render_walks_dicts_and_lists_but_not_keys() -> None:
    params = {
        "identity": "{{trigger.Owner.Email}}",
        "{{trigger.Id}}": "key is not rendered",
        "profile": {"Amount": "{{trigger.Amount}}", "List": ["{{trigger.Count}}", 7, None]},
        "number": 5,
    }
    assert render(params, CONTEXT) == {
        "identity": "ada@example.com",
        "{{trigger.Id}}": "key is not rendered",
        "profile": {"Amount": 5000.5, "List": [3, 7, None]},
        "number": 5,
    }


def test_render_does_not_change_its_input() -> None:
    params = {"a": ["{{trigger.Count}}"]}
    render(params, CONTEXT)
    assert params == {"a": ["{{trigger.Count}}"]}


@pytest.mark.parametrize(
    "text",
    [
        "{{trigger.Count",
        "{{}}",
        "{{ }}",
        "{{record.X}}",
        "{{trigger..X}}",
        "{{trigger.A B}}",
        "{{steps}}",
        "}}{{",
        "{{__class__}}",
        "{{trigger.__class__.__mro__}}",
    ],
)
def test_render_keeps_invalid_or_unknown_text_and_never_evaluates(text: str) -> None:
    rendered = render(text, CONTEXT)
    assert rendered is None or isinstance(rendered, str)
    if text != "{{trigger.__class__.__mro__}}":
        assert rendered == text
    else:
        assert rendered is None  # a dict has no key "__class__": attribute access never happens


def test_no_attribute_access_on_python_objects() -> None:
    class Secretive:
        token = "s3cret"

    context = {"trigger": {"obj": Secretive()}}
    assert render("{{trigger.obj.token}}", context) is None
    assert "s3cret" not in render("x {{trigger.obj.token}}", context)


def test_digit_segment_is_a_key_on_mappings() -> None:
    assert render("{{trigger.0}}", {"trigger": {"0": "zero"}}) == "zero"


def test_references_on_nested_params() -> None:
    params = {
        "identity": "{{trigger.Owner.Email}}",
        "profile": {
            "Name": "{{trigger.FirstName}} {{ trigger.LastName }}",
            "Status": ["{{steps.profile.status}}", "{{trigger.Owner.Email}}"],
        },
        "bad": "{{nope.x}} {{trigger.Ok}}",
        "n": 4,
    }
    assert references(params) == [
        "trigger.Owner.Email",
        "trigger.FirstName",
        "trigger.LastName",
        "steps.profile.status",
        "trigger.Ok",
    ]
    assert references("plain") == []


@pytest.mark.parametrize(
    ("value", "where", "reason_part"),
    [
        ("{{trigger.X", "p", "never closed"),
        ("a {{ }} b", "p", "is empty"),
        ("{{record.X}}", "p", 'must start with "trigger" or "steps"'),
        ("{{trigger..X}}", "p", "empty part between dots"),
        ("{{trigger.A B}}", "p", "contains a space"),
        ("{{steps}}", "p", "must name a step"),
        ({"a": {"b": ["ok", "{{x}}"]}}, "p.a.b[1]", "must start with"),
    ],
)
def test_check_reports_syntax_errors_with_path(value: Any, where: str, reason_part: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check(value, "p")
    assert isinstance(caught.value, ValueError)
    assert caught.value.where == where
    assert reason_part in caught.value.reason


def test_check_accepts_valid_templates_and_plain_braces() -> None:
    check({"a": "{{trigger.A}} and {{ steps.x.y.0 }}", "b": '{"json": {"x": 1}}', "c": "}}"}, "p")


def test_to_text_forms() -> None:
    assert to_text(None) == ""
    assert to_text(False) == "false"
    assert to_text(2.5) == "2.5"
    assert to_text({"a": "é"}) == '{"a": "é"}'


class ProfileParams(BaseModel):
    identity: str
    profile: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    either: dict[str, Any] | str | None = None
    nested: BaseModel | None = None
    anything: Any = None


def test_json_string_params_parse_before_rendering_so_quotes_are_safe() -> None:
    params = {
        "identity": "{{trigger.Owner.Email}}",
        "profile": '{"Name": "{{trigger.Owner.Name}}", "Quote": "{{trigger.Quote}}", "N": 1}',
    }
    parsed = parse_json_strings(params, ProfileParams)
    assert params["profile"].startswith("{")  # the input is not changed
    rendered = render(parsed, CONTEXT)
    assert rendered["profile"] == {"Name": "Ada Lovelace", "Quote": RECORD["Quote"], "N": 1}
    # the rendered value survives a JSON round trip: quotes inside the data did not break it
    assert json.loads(json.dumps(rendered))["profile"]["Quote"] == 'He said "hi" \\ bye'


def test_json_string_params_leave_other_fields_and_single_templates() -> None:
    params = {
        "identity": '{"not": "parsed"}',
        "profile": "{{trigger.Owner}}",
        "anything": '{"x": 1}',
        "either": "plain text",
        "extra": '{"a": [1, 2]}',
    }
    parsed = parse_json_strings(params, ProfileParams)
    assert parsed["identity"] == '{"not": "parsed"}'
    assert parsed["profile"] == "{{trigger.Owner}}"
    assert parsed["anything"] == '{"x": 1}'
    assert parsed["either"] == "plain text"
    assert parsed["extra"] == {"a": [1, 2]}
    assert render(parsed, CONTEXT)["profile"] == RECORD["Owner"]


def test_json_string_params_invalid_json_is_a_readable_error() -> None:
    with pytest.raises(ValueError, match=r'"profile" .* not valid JSON .*line 1, column'):
        parse_json_strings({"identity": "x", "profile": '{"Name": '}, ProfileParams)


def test_json_string_that_is_not_an_object_is_left_for_the_model() -> None:
    assert parse_json_strings({"profile": "[1, 2]"}, ProfileParams) == {"profile": "[1, 2]"}


def _nested(depth: int) -> Any:
    """A template inside ``depth`` objects and lists, alternating (the outermost an object)."""
    value: Any = "{{trigger.Email}}"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value if depth % 2 == 0 else {"a": value}


def test_check_refuses_params_nested_past_the_limit_naming_the_place() -> None:
    assert check(_nested(MAX_DEPTH - 1), "steps[0].params") == 1
    with pytest.raises(TemplateError) as caught:
        check(_nested(250), "steps[0].params")
    assert caught.value.where.startswith("steps[0].params.a[0]")
    assert f"at most {MAX_DEPTH} levels" in caught.value.reason


def test_check_refuses_too_many_templates_in_one_text_and_too_long_a_text() -> None:
    many = " ".join("{{trigger.F" + str(n) + "}}" for n in range(MAX_TEMPLATES_PER_STRING))
    assert check({"text": many}, "steps[0].params") == MAX_TEMPLATES_PER_STRING
    with pytest.raises(TemplateError) as caught:
        check({"text": many + " {{trigger.Last}}"}, "steps[0].params")
    assert caught.value.where == "steps[0].params.text"
    assert f"{MAX_TEMPLATES_PER_STRING + 1:,} templates" in caught.value.reason
    long = "{{trigger.Email}}" + "x" * MAX_TEMPLATE_TEXT
    with pytest.raises(TemplateError) as caught:
        check({"body": long}, "steps[1].params")
    assert caught.value.where == "steps[1].params.body"
    assert f"at most {MAX_TEMPLATE_TEXT:,}" in caught.value.reason


def test_params_at_every_limit_compile_and_render_as_render_does() -> None:
    """What `check` accepts compiles: no SyntaxError or RecursionError when a run renders it."""
    context = {"trigger": {"Email": "ada@example.com", **{f"F{n}": n for n in range(600)}}}
    deep = _nested(MAX_DEPTH - 1)
    check(deep, "params")
    assert compile_template(deep)(context) == render(deep, context)
    many = " ".join("{{trigger.F" + str(n) + "}}" for n in range(MAX_TEMPLATES_PER_STRING))
    assert compile_template({"text": many})(context) == render({"text": many}, context)
    spread = {f"p{n}": "<{{trigger.F" + str(n % 600) + "}}>" for n in range(MAX_TEMPLATES_PER_ZAP)}
    assert compile_template(spread)(context) == render(spread, context)
