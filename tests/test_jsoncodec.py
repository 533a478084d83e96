"""The store's JSON: orjson where it can, the standard library for what orjson refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from zaplite import jsoncodec
from zaplite.store import NewTask, NotJSONCompatible, Store


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True], "c": {"d": "é ✓ 日本"}},
        {"big": 2**70, "negative": -(2**65)},  # beyond 64 bits: orjson refuses, json does not
        {1: "one", None: "none"},  # non-string keys, as json writes them
        [],
        "plain",
    ],
)
def test_dumps_gives_what_the_standard_library_reads_back_the_same(value: object) -> None:
    assert json.loads(jsoncodec.dumps(value)) == json.loads(json.dumps(value))
    assert jsoncodec.dumps_bytes(value).decode("utf-8") == jsoncodec.dumps(value)


def test_not_finite_numbers_are_written_as_null() -> None:
    assert json.loads(jsoncodec.dumps({"x": float("nan"), "y": float("inf")})) == {
        "x": None,
        "y": None,
    }


@pytest.mark.parametrize("value", [{"when": datetime(2026, 5, 8, tzinfo=UTC)}, {"o": object()}])
def test_what_json_cannot_carry_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        jsoncodec.dumps(value)


def test_loads_reads_bytes_and_text_and_refuses_what_is_not_json() -> None:
    assert jsoncodec.loads(b'{"a": [1, 2]}') == {"a": [1, 2]}
    assert jsoncodec.loads('"x"') == "x"
    with pytest.raises(ValueError):
        jsoncodec.loads(b"<html>")


def test_a_record_orjson_refuses_is_still_stored_and_read_back(store: Store) -> None:
    record = {"Id": "a", "Huge": 2**70, "ü": "straße"}
    (task_id,) = store.commit_page(
        "zap",
        None,
        tasks=[NewTask(record_key="a", record=record, status="success", steps=[])],
        cursor={"ts": "x"},
        keys=["a"],
    )
    assert store.get_task(task_id).record == record


def test_a_value_json_cannot_carry_is_refused_and_nothing_is_written(store: Store) -> None:
    bad = NewTask(record_key="b", record={"when": datetime.now(UTC)}, status="success", steps=[])
    with pytest.raises(NotJSONCompatible):
        store.commit_page("zap", None, tasks=[bad], cursor={"ts": "y"}, keys=["b"])
    assert store.get_cursor("zap") is None
    assert store.known_keys("zap", ["b"]) == set()
