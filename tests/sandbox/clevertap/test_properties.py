"""Properties of the upload response for arbitrary batches."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zaplite.sandbox.clevertap import CleverTapEmulator, check_record

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**13),
    st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
_record = st.one_of(
    _scalar,
    st.fixed_dictionaries(
        {},
        optional={
            "identity": st.one_of(st.text(max_size=130), st.integers(0, 10**6), st.none()),
            "objectId": st.one_of(st.text(max_size=10), st.integers()),
            "ts": _scalar,
            "type": st.sampled_from(["event", "profile", "token", ""]),
            "evtName": st.one_of(st.sampled_from(["Deal Closed", "App Launched", ""]), _scalar),
            "evtData": st.one_of(
                st.dictionaries(st.text(max_size=5), _scalar, max_size=3), _scalar
            ),
            "profileData": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "Gender": st.sampled_from(["M", "F", "X"]),
                        "Email": st.sampled_from(["a@b.co", "nope"]),
                        "Phone": st.sampled_from(["+14155551234", "555"]),
                    },
                ),
                _scalar,
            ),
        },
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(_record, max_size=12))
def test_every_record_is_either_processed_or_reported_once(
    client: httpx.Client, emu: CleverTapEmulator, batch: list[Any]
) -> None:
    emu.reset()
    body = client.post("/1/upload", json={"d": batch}).json()
    unprocessed = body["unprocessed"]
    numbers = [
        int(entry["error"].rsplit("Skipped record number : ", 1)[1]) for entry in unprocessed
    ]
    assert numbers == sorted(set(numbers))
    assert body["processed"] + len(unprocessed) == len(batch)
    expected_bad = [n for n, record in enumerate(batch, 1) if check_record(record) is not None]
    assert numbers == expected_bad
    for number, entry in zip(numbers, unprocessed, strict=True):
        assert json.loads(entry["record"]) == batch[number - 1]
        assert entry["code"] == check_record(batch[number - 1])[0]
    stored_events = sum(1 for r in batch if check_record(r) is None and r["type"] == "event")
    assert len(emu.events) == stored_events
    assert body["status"] == ("fail" if unprocessed and not body["processed"] else "success")
