"""Property: a SOQL string literal built by escaping any text matches exactly that text."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.salesforce.helpers import SSL_CONTEXT, VERSION, get_token, records
from tests.support.emulators import SharedServer
from zaplite.sandbox.salesforce import SalesforceEmulator, escape_soql
from zaplite.sandbox.salesforce.soql import compile_query, tokenize, unescape

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(TEXT)
@settings(max_examples=300)
def test_escaped_literal_round_trips(text: str) -> None:
    query = f"SELECT Id FROM Contact WHERE LastName = '{escape_soql(text)}'"
    strings = [token for token in tokenize(query) if token.kind == "string"]
    assert len(strings) == 1
    value = unescape(query, strings[0])
    assert value == text or (
        "\\_" in value or "\\%" in value
    )  # LIKE-only escapes never appear here
    assert value == text


@given(TEXT, TEXT)
@settings(max_examples=150)
def test_escaped_literal_matches_exactly_that_text(text: str, other: str) -> None:
    emu = SalesforceEmulator()
    emu.create("Contact", {"LastName": text})
    if other.lower() != text.lower():
        emu.create("Contact", {"LastName": other})
    compiled = compile_query(
        f"SELECT LastName FROM Contact WHERE LastName = '{escape_soql(text)}'",
        emu.schema,
        lambda name: emu.store.table(emu.schema.require(name)),
    )
    matched = compiled.run(emu.store.rows("Contact"))
    assert [row["LastName"] for row in matched] == [text]


@given(st.lists(TEXT, min_size=1, max_size=5, unique_by=str.lower))
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_escaped_literals_over_http(sf_server: SharedServer, names: list[str]) -> None:
    emu = SalesforceEmulator()
    running = sf_server.serve(emu)
    for name in names:
        emu.create("Contact", {"LastName": name})
    token = get_token(running, emu)
    with httpx.Client(
        base_url=f"{running.url}/services/data/v{VERSION}",
        headers={"Authorization": f"Bearer {token}"},
        verify=SSL_CONTEXT,
    ) as api:
        for name in names:
            rows = records(
                api, f"SELECT LastName FROM Contact WHERE LastName = '{escape_soql(name)}'"
            )
            assert [row["LastName"] for row in rows] == [name]
