"""Property-based tests: arbitrary input gives a model or a FileError, rendering never raises."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.zaps import shipped_zap, shipped_zap_ids
from zaplite.errors import FileError
from zaplite.mapping.filters import evaluate
from zaplite.mapping.templates import TemplateError, check, references, render
from zaplite.project.config import load_config, parse_config
from zaplite.project.zapfile import OPS, FilterStep, Zap, parse_zap, parse_zap_text

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
brace_text = st.text(alphabet=st.sampled_from(list("{} .abtrigesp0_X\n\t")), max_size=40)
template_text = st.one_of(
    st.text(max_size=30),
    brace_text,
    st.builds(
        lambda a, path, b: f"{a}{{{{{path}}}}}{b}",
        st.text(max_size=5),
        st.sampled_from(["trigger.X", "trigger.Y.0", " trigger.Z ", "steps.s.out", "steps", "x.y"]),
        st.text(max_size=5),
    ),
)
zap_keys = st.sampled_from(
    ["id", "name", "enabled", "schedule", "trigger", "steps", "description", "extra"]
)


@FAST
@given(json_values)
def test_arbitrary_json_is_a_zap_or_a_config_error(value: Any) -> None:
    try:
        result = parse_zap_text(json.dumps(value), file="z.json")
    except FileError as error:
        assert error.file == "z.json"
        assert str(error).startswith("z.json")
    else:
        assert isinstance(result, Zap)


@FAST
@given(st.dictionaries(zap_keys, json_values, max_size=8))
def test_zap_shaped_objects_are_a_zap_or_a_config_error(value: dict[str, Any]) -> None:
    try:
        parse_zap(value, file="z.json")
    except FileError as error:
        assert error.reason


mutation_paths = st.sampled_from(
    [
        ("schedule",),
        ("trigger",),
        ("trigger", "start"),
        ("trigger", "params"),
        ("steps",),
        ("steps", 0),
        ("steps", 0, "params"),
        ("steps", 0, "params", "identity"),
        ("steps", 0, "filter"),
        ("steps", 0, "filter", 0),
        ("steps", 0, "filter", 0, "value"),
        ("steps", 1, "params", "event_properties"),
    ]
)


@FAST
@given(st.sampled_from(shipped_zap_ids()), mutation_paths, json_values)
def test_mutated_examples_are_a_zap_or_a_config_error(
    example: str, path: tuple[Any, ...], value: Any
) -> None:
    data = shipped_zap(example)
    target: Any = data
    try:
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return
    try:
        parse_zap(data, file="z.json")
    except FileError as error:
        assert error.file == "z.json"


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_is_a_zap_or_a_config_error(text: str) -> None:
    with contextlib.suppress(FileError):
        parse_zap_text(text, file="z.json")


toml_keys = st.sampled_from(
    ["store", "settings", "connections", "url", "zaps_dir", "retry_attempts", "app", "sf", "x"]
)
toml_scalars = st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
toml_docs = st.recursive(
    st.dictionaries(toml_keys, toml_scalars, max_size=4),
    lambda children: st.dictionaries(toml_keys, children | toml_scalars, max_size=4),
    max_leaves=12,
)


@FAST
@given(toml_docs)
def test_toml_ish_documents_are_a_config_or_a_config_error(document: dict[str, Any]) -> None:
    try:
        config = parse_config(document, path=Path("zaplite.toml"), base_dir=Path("/tmp"), env={})
    except FileError as error:
        assert error.file == "zaplite.toml"
    else:
        for connection in config.connections.values():
            try:
                connection.resolve({})
            except FileError as error:
                assert "environment variable" in error.reason


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(max_size=40)
        | st.sampled_from(
            [
                "[store]",
                "[settings]",
                "[connections.sf]",
                'app = "x"',
                "url = 5",
                'retry_attempts = "2"',
                "[[settings]]",
                "a.b = 1",
                'zaps_dir = "z"',
            ]
        ),
        max_size=6,
    ).map("\n".join)
)
def test_arbitrary_toml_text_is_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "zaplite.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except FileError as error:
        assert error.file == str(path)


contexts = st.fixed_dictionaries(
    {"trigger": json_values, "steps": st.dictionaries(st.text(max_size=3), json_values)}
)


@FAST
@given(template_text, contexts)
def test_render_never_raises(text: str, context: dict[str, Any]) -> None:
    result = render(text, context)
    if "{{" not in text:
        assert result == text
    references(text)
    try:
        check(text, "p")
    except TemplateError as error:
        assert error.where == "p" and error.reason


@FAST
@given(json_values, contexts)
def test_render_of_nested_values_never_raises(value: Any, context: dict[str, Any]) -> None:
    render(value, context)


@FAST
@given(json_values)
def test_exact_template_returns_the_value_itself(value: Any) -> None:
    assert render("{{trigger.V}}", {"trigger": {"V": value}}) == value
    text = render("<{{trigger.V}}>", {"trigger": {"V": value}})
    assert isinstance(text, str) and text.startswith("<") and text.endswith(">")


ops = st.sampled_from(OPS)


@FAST
@given(ops, json_scalars, json_values, json_values)
def test_filters_never_raise(op: str, expected: Any, actual: Any, previous: Any) -> None:
    condition: dict[str, Any] = {"field": "{{trigger.X}}", "op": op}
    if op not in ("exists", "not_exists", "is_true", "is_false", "changed"):
        condition["value"] = expected if op != "in" or isinstance(expected, str) else [expected]
    step = FilterStep.model_validate({"id": "f", "filter": [condition]})
    passed, reason = evaluate(step.filter, {"trigger": {"X": actual, "_previous": previous}})
    assert isinstance(passed, bool)
    assert isinstance(reason, str) and reason
