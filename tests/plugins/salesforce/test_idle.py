"""An idle zap's polls: the same query each time, its URL parsed once per connection."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from zaplite.errors import RetryableError

pytestmark = pytest.mark.anyio


def _queries(org) -> list[str]:
    """The SOQL of each query request the emulator received, in order."""
    return [
        parse_qs(query)["q"][0]
        for _method, path, query in org.emu.requests
        if path.endswith("/query") and query
    ]


async def test_an_idle_zap_sends_the_same_query_and_parses_its_url_once(
    org, client, zap, monkeypatch
) -> None:
    parsed: list[str] = []
    original = httpx.URL.copy_merge_params

    def counting(self: httpx.URL, params: object) -> httpx.URL:
        parsed.append(str(self))
        return original(self, params)

    monkeypatch.setattr(httpx.URL, "copy_merge_params", counting)
    watched = zap("new_contact", client, start="now")
    for _ in range(4):
        assert await watched.poll() == []
    queries = _queries(org)
    assert len(queries) == 4  # the start="now" baseline, then three identical keyset polls
    assert len(set(queries[1:])) == 1
    assert len(parsed) == 2, "each distinct query's URL is parsed once"

    created = org.emu.create("Contact", {"LastName": "New", "Email": "new@example.com"})
    assert [record["Id"] for record in await watched.poll()] == [created["Id"]]
    assert await watched.poll() == []
    queries = _queries(org)
    assert queries[-1] != queries[-2], "the cursor moved, so the query did"
    assert len(parsed) == 3
    # What was sent is what httpx makes of the same SOQL as params.
    sent = [query for method, path, query in org.emu.requests if path.endswith("/query")][-1]
    expected = httpx.URL("http://x/", params={"q": queries[-1]}).query.decode()
    assert sent == expected


async def test_the_kept_query_urls_are_bounded(org, client, monkeypatch) -> None:
    from zaplite_salesforce import connection

    monkeypatch.setattr(connection, "QUERY_URLS_KEPT", 3)
    for n in range(5):
        async for _page in client.query(f"SELECT Id FROM Contact WHERE LastName = 'n{n}'"):
            pass
    assert len(client._query_urls) == 3
    kept = [dict(key[2])["q"] for key in client._query_urls]
    assert kept == [f"SELECT Id FROM Contact WHERE LastName = 'n{n}'" for n in (2, 3, 4)]


async def test_a_zap_plans_its_query_once_per_connection(org, client, zap, monkeypatch) -> None:
    from zaplite_salesforce import polling

    resolved: list[str] = []
    original = polling.resolve_field

    async def counting(client, object_name: str, path: str):  # type: ignore[no-untyped-def]
        resolved.append(path)
        return await original(client, object_name, path)

    monkeypatch.setattr(polling, "resolve_field", counting)
    web = zap("new_record", client, start="all", object="Contact", where={"LeadSource": "Web"})
    phone = zap("new_record", client, start="all", object="Contact", where={"LeadSource": "Phone"})
    created = org.emu.create("Contact", {"LastName": "Match", "LeadSource": "Web"})
    for _ in range(3):
        await web.poll()
    once = len(resolved)
    assert once > 0
    await phone.poll()
    assert len(resolved) == 2 * once, "another where is another plan"
    for _ in range(3):
        await phone.poll()
        await web.poll()
    assert len(resolved) == 2 * once, "each plan was built once"
    assert [record["Id"] for record in web.delivered] == [created["Id"]]
    assert phone.delivered == []
    assert len(client.plans) == 2


async def test_a_transient_fault_is_raised_after_one_try(org, client) -> None:
    """The client tries a request once; the engine's retry policy decides what comes next."""
    org.emu.fail_next(1, 503, path_contains="/query")
    with pytest.raises(RetryableError):
        async for _page in client.query("SELECT Id FROM Contact"):
            pass
    assert len(org.paths("/query")) == 1
    pages = [page async for page in client.query("SELECT Id FROM Contact")]
    assert len(pages) == 1 and pages[0].records == []
    assert len(org.paths("/query")) == 2
