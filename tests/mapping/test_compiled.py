"""``compile_template`` (the engine's per-page renderer) renders exactly as ``render`` does."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from zaplite.mapping.compiled import compile_template
from zaplite.mapping.templates import render

CONTEXT: dict[str, Any] = {
    "trigger": {
        "Email": "ada@example.com",
        "Amount": 12.5,
        "Won": True,
        "Owner": {"Name": "Grace"},
        "Tags": ["a", "b"],
        "Empty": None,
    },
    "steps": {"profile": {"status": "success"}},
}

PIECES = st.sampled_from(
    [
        "{{trigger.Email}}",
        "{{trigger.Amount}}",
        "{{ trigger.Owner.Name }}",
        "{{trigger.Tags.1}}",
        "{{trigger.Missing}}",
        "{{trigger.Empty}}",
        "{{trigger.Won}}",
        "{{trigger.Owner}}",
        "{{steps.profile.status}}",
        "{{steps.profile.status.x}}",
        "{{trigger.Email.x}}",
        "{{trigger.Tags.0}}",
        "{{trigger.Owner.Name.x}}",
        "{{trigger.0}}",
        "{{trigger.Owner.Missing}}",
        "{{nope.x}}",
        "{{",
        "}}",
        "{{{trigger.Email}}}",
        "plain ",
        " text",
    ]
)
STRINGS = st.lists(PIECES | st.text(max_size=5), max_size=4).map("".join)
VALUES = st.recursive(
    STRINGS | st.integers() | st.none() | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


# Contexts the specialised getters must not take a shortcut through: other mappings,
# lists where dicts are expected, a trigger that is not a dict at all.
CONTEXTS: list[Any] = [
    CONTEXT,
    {"trigger": MappingProxyType(CONTEXT["trigger"]), "steps": CONTEXT["steps"]},
    {"trigger": {"Owner": MappingProxyType({"Name": "Grace"}), "Tags": ("x", "y")}, "steps": {}},
    {"trigger": ["first", {"Name": "second"}], "steps": {"profile": ["a"]}},
    {"trigger": "text", "steps": None},
    MappingProxyType({"trigger": {"Email": "proxy@example.com"}}),
]


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from(CONTEXTS))
def test_compiled_rendering_equals_render(value: Any, context: Any) -> None:
    assert compile_template(value)(context) == render(value, context)


def test_a_single_template_keeps_its_type_and_the_result_is_fresh_each_time() -> None:
    function = compile_template({"a": "{{trigger.Amount}}", "b": ["{{trigger.Owner}}"]})
    first = function(CONTEXT)
    assert first == {"a": 12.5, "b": [{"Name": "Grace"}]}
    first["b"].append("x")
    assert function(CONTEXT) == {"a": 12.5, "b": [{"Name": "Grace"}]}


def test_paths_deeper_than_python_can_nest_are_looked_up_by_a_call() -> None:
    segments = [f"k{i}" for i in range(30)]
    deep: Any = "bottom"
    for segment in reversed(segments):
        deep = {segment: deep}
    template = "{{trigger." + ".".join(segments) + "}}"
    function = compile_template({"deep": template, "text": "at " + template})
    assert function({"trigger": deep}) == {"deep": "bottom", "text": "at bottom"}
    assert function({"trigger": {}}) == {"deep": None, "text": "at "}


def test_names_that_look_like_code_are_only_ever_data() -> None:
    # Path segments and dict keys reach the generated source only through repr().
    odd = "x');__import__('os');('"
    value = {odd: "{{trigger." + odd + "}}", 'q"uote\\': "{{trigger.a}} and {{trigger.b}}", 3: None}
    context = {"trigger": {odd: "safe", "a": 1, "b": [1, 2]}}
    assert compile_template(value)(context) == render(value, context)
    assert compile_template(value)(context) == {odd: "safe", 'q"uote\\': "1 and [1, 2]", 3: None}


def test_params_without_templates_still_give_fresh_containers() -> None:
    function = compile_template({"list": [1, "a"], "flag": True, "text": "{{ not a template"})
    first = function(CONTEXT)
    assert first == {"list": [1, "a"], "flag": True, "text": "{{ not a template"}
    first["list"].append(2)
    assert function(CONTEXT)["list"] == [1, "a"]
