"""``compile_template`` (the engine's per-page renderer) renders exactly as ``render`` does."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from zaplite.templates import compile_template, render

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


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_compiled_rendering_equals_render(value: Any) -> None:
    assert compile_template(value)(CONTEXT) == render(value, CONTEXT)


def test_a_single_template_keeps_its_type_and_the_result_is_fresh_each_time() -> None:
    function = compile_template({"a": "{{trigger.Amount}}", "b": ["{{trigger.Owner}}"]})
    first = function(CONTEXT)
    assert first == {"a": 12.5, "b": [{"Name": "Grace"}]}
    first["b"].append("x")
    assert function(CONTEXT) == {"a": 12.5, "b": [{"Name": "Grace"}]}
