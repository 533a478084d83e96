"""The raw floor: the same Salesforce pages and 1,000-record CleverTap uploads, with no zaplite.

No engine, no templates, no params models, no store: sign in, page through the
same query, turn each record into an upload record with plain dict code, and POST
1,000 at a time. While one page's uploads are in flight the next page is fetched,
so this is what one process on the two APIs can do, not a straw man. JSON goes through
orjson, as in the engine.

Run by ``throughput.py`` in its own process (so its CPU and memory are its own)::

    python bench/raw_floor.py SF_URL CT_URL   # credentials in BENCH_SF_* / BENCH_CT_* env

Prints one JSON line: records sent, Salesforce pages, CleverTap requests.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import os
import sys
import time
from typing import Any

import httpx
import orjson

__all__ = ["QUERY", "main", "to_upload"]

QUERY = (
    "SELECT Id, FirstName, LastName, Email, Phone, CreatedDate, Lead_Status__c "
    "FROM Contact ORDER BY CreatedDate, Id"
)
PAGE_SIZE = 2000
BATCH = 1000
CONCURRENCY = 15


def _epoch(stamp: str) -> int:
    """``2026-05-08T21:20:00.000+0000`` → epoch seconds (UTC), without dateutil."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def to_upload(record: dict[str, Any]) -> dict[str, Any]:
    """The CleverTap profile upload of one Salesforce contact (the zap's mapping, by hand)."""
    email = record.get("Email") or ""
    profile = {
        "Name": f"{record.get('FirstName') or ''} {record.get('LastName') or ''}",
        "Email": email,
        "Phone": record.get("Phone") or "",
        "Lead Status": record.get("Lead_Status__c") or "",
        "Salesforce Contact Id": record["Id"],
    }
    return {
        "identity": email,
        "ts": _epoch(record["CreatedDate"]),
        "type": "profile",
        "profileData": {key: value for key, value in profile.items() if value != ""},
    }


async def _token(http: httpx.AsyncClient, sf_url: str) -> tuple[str, str]:
    response = await http.post(
        f"{sf_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": os.environ["BENCH_SF_CLIENT_ID"],
            "client_secret": os.environ["BENCH_SF_CLIENT_SECRET"],
            "refresh_token": os.environ["BENCH_SF_REFRESH_TOKEN"],
        },
    )
    response.raise_for_status()
    body = response.json()
    return body["access_token"], body["instance_url"]


async def run(sf_url: str, ct_url: str) -> dict[str, int]:
    """Move every contact; returns counts."""
    ct_headers = {
        "X-CleverTap-Account-Id": os.environ["BENCH_CT_ACCOUNT_ID"],
        "X-CleverTap-Passcode": os.environ["BENCH_CT_PASSCODE"],
        "Content-Type": "application/json; charset=utf-8",
    }
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    counts = {"records": 0, "pages": 0, "uploads": 0, "unprocessed": 0}
    async with (
        httpx.AsyncClient(timeout=60) as sf,
        httpx.AsyncClient(timeout=60, limits=limits) as ct,
    ):
        token, instance = await _token(sf, sf_url)
        sf_headers = {
            "Authorization": f"Bearer {token}",
            "Sforce-Query-Options": f"batchSize={PAGE_SIZE}",
        }

        async def upload(chunk: list[dict[str, Any]]) -> None:
            async with gate:
                content = orjson.dumps({"d": chunk})
                response = await ct.post(f"{ct_url}/1/upload", content=content, headers=ct_headers)
            response.raise_for_status()
            counts["uploads"] += 1
            counts["unprocessed"] += len(orjson.loads(response.content).get("unprocessed") or [])

        in_flight: list[asyncio.Task[None]] = []
        url: str | None = f"{instance}/services/data/v64.0/query"
        params: dict[str, str] | None = {"q": QUERY}
        while url:
            response = await sf.get(url, params=params, headers=sf_headers)
            response.raise_for_status()
            body = orjson.loads(response.content)
            counts["pages"] += 1
            records = [to_upload(record) for record in body["records"]]
            counts["records"] += len(records)
            for first in range(0, len(records), BATCH):
                in_flight.append(asyncio.create_task(upload(records[first : first + BATCH])))
            in_flight = [task for task in in_flight if not task.done()]
            while len(in_flight) > 2 * CONCURRENCY:  # bounded: never more than ~2 pages queued
                await in_flight.pop(0)
            next_url = body.get("nextRecordsUrl")
            url = f"{instance}{next_url}" if next_url and not body.get("done") else None
            params = None
        await asyncio.gather(*in_flight)
    return counts


def main(argv: list[str] | None = None) -> int:
    """``raw_floor.py SF_URL CT_URL``: run and print the counts as JSON."""
    args = sys.argv[1:] if argv is None else argv
    print(json.dumps(asyncio.run(run(args[0], args[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
