"""Values in ``where`` cannot inject SOQL: the query matches exactly the records holding the value."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zaplite_salesforce import app

from tests.plugins.salesforce.harness import ZapDouble
from tests.support.emulators import Org

DECOYS = [
    "x",
    "X",
    "' OR Id != '",
    "' OR Title != '",
    "\\",
    "\\'",
    "\\\\'",
    "%",
    "_",
    "a' OR Title LIKE '%",
    "') OR (Title != '",
    '"',
    "\n",
    "null",
]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every example of a property test (so one client serves them all)."""
    event_loop = asyncio.new_event_loop()
    try:
        yield event_loop
    finally:
        event_loop.close()


def _matching(org: Org, value: str) -> set[str]:
    """Ids of the Contacts whose Title equals ``value`` as Salesforce compares (ignoring case)."""
    return {
        row["Id"]
        for row in org.emu.records("Contact")
        if isinstance(row.get("Title"), str) and row["Title"].lower() == value.lower()
    }


def _query(loop: asyncio.AbstractEventLoop, client, where: dict) -> set[str]:
    trigger = app.triggers["new_contact"]
    params = trigger.params(fields=["Title"], where=where)
    zap = ZapDouble(trigger, params, client, start="all")
    loop.run_until_complete(zap.poll())
    return {record["Id"] for record in zap.delivered}


@pytest.mark.parametrize("value", DECOYS)
def test_known_injection_attempts_are_inert(org, loop, value) -> None:
    for decoy in DECOYS:
        org.emu.create("Contact", {"LastName": "Decoy", "Title": decoy})
    client = org.client()
    try:
        assert _query(loop, client, {"Title": value}) == _matching(org, value)
        assert _query(loop, client, {"Title": [value, "x"]}) == (
            _matching(org, value) | _matching(org, "x")
        )
    finally:
        loop.run_until_complete(client.aclose())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.text(min_size=1, max_size=40))
def test_any_string_matches_exactly_its_records(org, loop, value) -> None:
    if not org.emu.records("Contact"):
        for decoy in DECOYS:
            org.emu.create("Contact", {"LastName": "Decoy", "Title": decoy})
    org.emu.create("Contact", {"LastName": "Target", "Title": value})
    client = org.client()
    try:
        found = _query(loop, client, {"Title": value})
    finally:
        loop.run_until_complete(client.aclose())
    assert found == _matching(org, value)
    assert found  # the record just created, at least
