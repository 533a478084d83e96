"""A large backlog read with a Bulk API 2.0 query job, then handed over to REST polling.

A zap's first poll with ``start: "all"`` or an instant counts its backlog
(``SELECT COUNT()``); above the connection's ``bulk_threshold`` it reads it with one
query job instead of a REST page per 2,000 records:

1. ``POST jobs/query`` with the poll's own query (keyset order), and a checkpoint that
   names the job, so a restart does not make another one;
2. ``GET jobs/query/{id}`` until the job is ``JobComplete``;
3. ``GET jobs/query/{id}/results?maxRecords=`` :data:`RESULT_PAGE` ``&locator=``: CSV
   pages, each yielded as pages of at most :data:`CHECKPOINT` records. Each one's
   checkpoint is the result page's locator and the last record delivered, so a restart
   reads that result page again from the saved locator and skips what was delivered:
   a crash sends at most one such page twice.

When the results end, the cursor is the last record's place in ``(timestamp, Id)``
order and the next poll is an ordinary REST poll from there, with the look-back
overlap: records committed during the job are read by it, the ones already delivered
are dropped by their keys. A job that Salesforce no longer has (it keeps them 7 days)
is replaced by a new one from the last checkpoint; one that failed hands over to REST.

CSV values are typed as the REST API types them (``typed_record``): numbers,
booleans, dates and date-times as REST writes them, empty fields as null, and
relationship columns (``Owner.Name``) nested (``{"Owner": {"Name": ...}}``), so a
zap's mapping reads the same fields either way.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from zaplite.errors import PluginError, RetryableError
from zaplite_salesforce.connection import SalesforceClient
from zaplite_salesforce.lookback import Seen
from zaplite_salesforce.schema import resolve_field
from zaplite_salesforce.soql import after_keyset, parse_datetime

__all__ = ["RESULT_PAGE", "bulk_batches", "csv_rows", "typed_record", "typed_records"]

RESULT_PAGE = 50_000
"""Records asked for per results page (``maxRecords``): 200,000 records in four calls."""

CHECKPOINT = 10_000
"""Records delivered between two checkpoints on the Bulk path: the most a crash sends twice.

Larger than a REST page (2,000): the records are already here, so what bounds the
time is delivering them, and ten uploads of 1,000 go out at once instead of two."""

WAITS = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Seconds between two looks at a job that is not complete yet (the last one repeats)."""

_NUMBERS = {"int": int, "double": float, "currency": float, "percent": float, "long": int}


def csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a Bulk API 2.0 CSV page (RFC 4180)."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return (rows[0], rows[1:]) if rows else ([], [])


def _datetime(text: str) -> str:
    # Bulk writes 2026-05-08T21:20:00.000Z, REST 2026-05-08T21:20:00.000+0000.
    if text.endswith("Z") and len(text) == 24:
        return text[:-1] + "+0000"
    stamp = parse_datetime(text)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def _number(kind: str) -> Any:
    make = _NUMBERS[kind]

    def convert(text: str) -> Any:
        try:
            return make(text)
        except ValueError:
            return float(text)

    return convert


def _converter(kind: str | None) -> Any:
    if kind == "boolean":
        return lambda text: text.lower() == "true"
    if kind in _NUMBERS:
        return _number(kind)
    if kind == "datetime":
        return _datetime
    return None


def typed_records(
    header: Sequence[str], rows: Sequence[Sequence[str]], types: dict[str, str | None]
) -> list[dict[str, Any]]:
    """CSV rows as the REST API would give the records (see the module docstring)."""
    plain = []
    nested = []
    for index, name in enumerate(header):
        convert = _converter(types.get(name))
        if "." in name:
            nested.append((index, name.split("."), convert))
        else:
            plain.append((index, name, convert))
    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for index, name, convert in plain:
            text = row[index]
            record[name] = None if text == "" else (convert(text) if convert else text)
        if nested:
            for index, path, convert in nested:
                text = row[index]
                target = record
                for part in path[:-1]:
                    child = target.get(part)
                    if child is None:
                        child = target[part] = {}
                    target = child
                target[path[-1]] = None if text == "" else (convert(text) if convert else text)
            _null_empty(record)
        records.append(record)
    return records


def typed_record(row: dict[str, str], types: dict[str, str | None]) -> dict[str, Any]:
    """One CSV row (field name → text) as the REST API would give the record."""
    return typed_records(list(row), [list(row.values())], types)[0]


def _null_empty(record: dict[str, Any]) -> dict[str, Any]:
    """A relationship whose every field is null is null, as REST gives it."""
    for key, value in record.items():
        if isinstance(value, dict):
            inner = _null_empty(value)
            record[key] = None if all(v is None for v in inner.values()) else inner
    return record


async def _types(client: SalesforceClient, object_name: str, names: Sequence[str]) -> dict:
    return {name: (await resolve_field(client, object_name, name)).type for name in names}


async def bulk_batches(
    client: SalesforceClient, plan: Any, cursor: Any, *, counted: bool
) -> AsyncIterator[Any]:
    """The backlog's pages from a query job (``cursor.bulk`` names it once it exists).

    ``plan`` and ``cursor`` are ``polling.Plan`` and ``polling.Cursor``; with
    ``counted``, the records read are counted per stamp for the cheap look-back.
    """
    from zaplite_salesforce.polling import Batch, Position, _watermark

    path = f"{client.api_path}/jobs/query"
    while True:
        if cursor.bulk is None:
            conditions = (
                [after_keyset(plan.ts_field, cursor.position.ts, cursor.position.id)]
                if cursor.position is not None
                else cursor.conditions(plan)
            )
            job = await client.post(path, {"operation": "query", "query": plan.select(conditions)})
            cursor = replace(cursor, bulk={"job": str(job["id"]), "locator": None})
            yield Batch([], cursor, _watermark(cursor), client.usage)
        job_id = str(cursor.bulk["job"])
        try:
            state = await _complete(client, f"{path}/{job_id}")
        except PluginError as error:
            if not is_gone(error):
                raise
            cursor = replace(cursor, bulk=None)  # gone (7 days): a new job from the checkpoint
            continue
        if state != "JobComplete":  # failed or aborted: REST reads the backlog instead
            yield Batch([], replace(cursor, bulk=None), _watermark(cursor), client.usage)
            return
        break
    seen: Seen | None = (cursor.seen or Seen()) if counted else None
    types: dict[str, str | None] | None = None
    locator = cursor.bulk.get("locator")
    while True:
        params = {"maxRecords": str(RESULT_PAGE)}
        if locator:
            params["locator"] = str(locator)
        try:
            text, headers = await client.get_text(f"{path}/{job_id}/results", params=params)
        except PluginError as error:
            if not is_gone(error):
                raise
            cursor = replace(cursor, bulk=None)
            async for batch in bulk_batches(client, plan, cursor, counted=counted):
                yield batch
            return
        header, rows = csv_rows(text)
        if types is None and header:
            types = await _types(client, plan.object_name, header)
        following = headers.get("sforce-locator") or headers.get("Sforce-Locator") or "null"
        records = typed_records(header, rows, types or {})
        if cursor.position is not None:  # a result page read again after a restart
            done = cursor.position.key()
            records = [r for r in records if (parse_datetime(r[plan.ts_field]), r["Id"]) > done]
        size = CHECKPOINT
        chunks = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
        for n, chunk in enumerate(chunks):
            last_chunk = n == len(chunks) - 1
            if chunk:
                end = chunk[-1]
                cursor = cursor.advanced(Position(parse_datetime(end[plan.ts_field]), end["Id"]))
                if seen is not None:
                    seen = seen.add(parse_datetime(r[plan.ts_field]) for r in chunk)
            if last_chunk:
                bulk = None if following == "null" else {"job": job_id, "locator": following}
            else:
                bulk = {"job": job_id, "locator": locator}
            low = cursor.low(plan)
            kept = seen.since(low) if seen is not None and low is not None else seen
            cursor = replace(cursor, bulk=bulk, seen=kept)
            yield Batch(chunk, cursor, _watermark(cursor), client.usage)
        if following == "null":
            return
        locator = following


async def _complete(client: SalesforceClient, job_path: str) -> str:
    """Wait until the job is done; its final state."""
    for attempt in range(10_000):
        job = await client.get(job_path)
        state = str(job.get("state"))
        if state in ("JobComplete", "Failed", "Aborted"):
            return state
        await asyncio.sleep(WAITS[min(attempt, len(WAITS) - 1)])
    raise RetryableError("The Bulk API query job did not finish; the poll will be retried.")


def is_gone(error: PluginError) -> bool:
    """Whether Salesforce no longer has the job (``NOT_FOUND``)."""
    return getattr(error, "code", None) == "NOT_FOUND"
