"""The ``deleted_record`` trigger: records moved to the recycle bin, read through ``queryAll``.

A delete stamps ``SystemModstamp``, so the trigger polls ``queryAll ... WHERE IsDeleted
= true`` on the same keyset-and-overlap cursor as ``updated_record`` (see
:mod:`~zaplite_salesforce.polling`).
Each deletion fires once (dedup key ``Id`` and the deletion's ``SystemModstamp``).
The record carries the requested fields as they were when it was deleted.

Salesforce keeps deleted records in the recycle bin for 15 days, and never returns
hard-deleted or purged ones: a zap that did not poll for longer than that (its
daemon was down) misses the deletions purged meanwhile, and says so in its log: it
remembers when it last polled in its trigger state (written at most once an hour).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from zaplite import App, Page, PollContext, Record
from zaplite_salesforce.connection import SalesforceClient
from zaplite_salesforce.polling import Plan, build_plan, recent_records
from zaplite_salesforce.soql import datetime_literal, parse_datetime
from zaplite_salesforce.triggers import NewRecordParams, overlap_for, poll_pages

__all__ = ["RECYCLE_BIN_DAYS", "DeletedRecordParams", "add_deleted_trigger"]

RECYCLE_BIN_DAYS = 15
"""Days Salesforce keeps a deleted record where ``queryAll`` can see it."""

TS_FIELD = "SystemModstamp"

DELETED_SAMPLE: Record = {
    "Id": "003RO0000035WQgYAM",
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada@example.com",
    "IsDeleted": True,
    "SystemModstamp": "2026-05-08T21:20:00.000+0000",
}


class DeletedRecordParams(NewRecordParams):
    """Params of ``deleted_record``: the object, the fields to return, equality conditions."""


def _output_fields(params: DeletedRecordParams) -> list[str]:
    names: list[str] = []
    for name in ["Id", *params.fields, "IsDeleted", TS_FIELD]:
        if name.lower() not in {known.lower() for known in names}:
            names.append(name)
    return names


async def _plan(ctx: PollContext) -> Plan:
    params: DeletedRecordParams = ctx.params  # type: ignore[assignment]
    client: SalesforceClient = ctx.connection
    return await build_plan(
        client,
        params.object,
        params.fields,
        {**params.where, "IsDeleted": True},
        TS_FIELD,
        also=["IsDeleted"],
        overlap=overlap_for(params),
        query_all=True,
    )


POLLED_KEY = "deleted_record.polled_at"
"""Trigger state: when the zap last polled (written at most every :data:`POLLED_EVERY`)."""

POLLED_EVERY = timedelta(hours=1)


def missed_since(now: datetime, polled_at: object) -> datetime | None:
    """When the zap last polled, if that is longer ago than the recycle bin keeps records."""
    if not isinstance(polled_at, str):
        return None
    try:
        last = parse_datetime(polled_at)
    except ValueError:
        return None
    return last if now - last > timedelta(days=RECYCLE_BIN_DAYS) else None


async def poll_deleted(ctx: PollContext) -> AsyncIterator[Page]:
    """Yield pages of records deleted since the cursor, oldest deletion first."""
    plan = await _plan(ctx)
    client: SalesforceClient = ctx.connection
    if ctx.limit:
        yield Page(records=await recent_records(client, plan, ctx.limit), cursor=ctx.cursor)
        return
    now = client.server_date or datetime.now(UTC)
    polled_at = ctx.state.get([POLLED_KEY]).get(POLLED_KEY)
    since = missed_since(now, polled_at) if ctx.cursor is not None else None
    if since is not None:
        ctx.log.warning(
            "zap %s last polled for deletions at %s, more than %d days ago: Salesforce keeps "
            "deleted records only that long, so deletions purged from the recycle bin "
            "meanwhile were missed",
            ctx.zap_id,
            since.isoformat(),
            RECYCLE_BIN_DAYS,
        )
    note: dict[str, object] = {}
    if not isinstance(polled_at, str) or since is not None or _older(now, polled_at):
        note = {POLLED_KEY: datetime_literal(now)}
    # The same pages as the other polling triggers, settled cursor included: a mass delete
    # sharing one SystemModstamp past max_keys_per_zap moves the cursor past it.
    async for page in poll_pages(ctx, plan, state=note):
        yield page


def _older(now: datetime, polled_at: str) -> bool:
    try:
        return now - parse_datetime(polled_at) > POLLED_EVERY
    except ValueError:
        return True


def add_deleted_trigger(app: App) -> None:
    """Add ``deleted_record`` to ``app``."""

    async def recent_deleted(ctx: PollContext) -> list[Record]:
        return await recent_records(ctx.connection, await _plan(ctx), ctx.limit or 3)

    @app.trigger(
        "deleted_record",
        params=DeletedRecordParams,
        label="Deleted record",
        # Id + the deletion's stamp: the overlap's re-read of a deletion is dropped, while
        # a record deleted, restored and deleted again fires again (keyed on Id alone,
        # the second deletion inside the window would be taken for the first and lost).
        dedup_key=("Id", TS_FIELD),
        overlap=overlap_for,
        sample=DELETED_SAMPLE,
        output_fields=_output_fields,
        recent=recent_deleted,
        time_field=TS_FIELD,
    )
    async def deleted_record(ctx: PollContext) -> AsyncIterator[Page]:
        """Fires when a record of the chosen object is deleted (moved to the recycle bin)."""
        async for page in poll_deleted(ctx):
            yield page
