"""The Salesforce triggers: ``new_record``, ``new_contact`` and ``updated_record``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zaplite import App, Page, PollContext, Record
from zaplite_salesforce.connection import SalesforceClient
from zaplite_salesforce.polling import (
    DEFAULT_OVERLAP,
    Plan,
    build_plan,
    first_cursor,
    poll_batches,
    recent_records,
)
from zaplite_salesforce.records import clean_record, get_path
from zaplite_salesforce.soql import (
    FIELD_PATTERN,
    OBJECT_PATTERN,
    build_select,
    parse_datetime,
)

__all__ = [
    "NewContactParams",
    "NewRecordParams",
    "UpdatedRecordParams",
    "add_triggers",
    "overlap_for",
    "poll_pages",
]

Scalar = str | int | float | bool | None
WhereValue = Scalar | list[Scalar]


def _check_fields(names: Sequence[str]) -> list[str]:
    for name in names:
        if not FIELD_PATTERN.match(name):
            raise ValueError(f"{name!r} is not a valid Salesforce field name")
    return list(names)


class NewContactParams(BaseModel):
    """Params of ``new_contact``: the fields to return and equality conditions."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(default_factory=list, description="Fields to return (Id is added).")
    where: dict[str, WhereValue] = Field(
        default_factory=dict, description="Field → value equality conditions (a list means IN)."
    )
    overlap_seconds: int | None = Field(
        default=None, ge=0, le=86400, description="How far back each poll looks again (300)."
    )

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        return _check_fields(value)

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, WhereValue]) -> dict[str, WhereValue]:
        _check_fields(list(value))
        return value


class NewRecordParams(NewContactParams):
    """Params of ``new_record``: the object, the fields to return and equality conditions."""

    object: str = Field(pattern=OBJECT_PATTERN.pattern, description="The sObject, e.g. Lead.")


class UpdatedRecordParams(NewRecordParams):
    """Params of ``updated_record``; with ``watch_fields`` only changes to those fields fire."""

    watch_fields: list[str] = Field(
        default_factory=list, description="Fire only when one of these fields changed."
    )

    @field_validator("watch_fields")
    @classmethod
    def _watch(cls, value: list[str]) -> list[str]:
        return _check_fields(value)


def overlap_for(params: BaseModel) -> timedelta:
    """The look-back overlap of a zap: ``overlap_seconds``, or five minutes."""
    seconds = getattr(params, "overlap_seconds", None)
    if seconds is None:
        return DEFAULT_OVERLAP
    return timedelta(seconds=seconds)


def _object(params: NewContactParams) -> str:
    return getattr(params, "object", "Contact")


def _extra_fields(params: BaseModel, ts_field: str) -> list[str]:
    """Fields selected besides the zap's own: the ordering field, and for updates what they need."""
    if ts_field != "SystemModstamp":
        return [ts_field]
    return [ts_field, *getattr(params, "watch_fields", []), "CreatedDate"]


def _output_fields(ts_field: str) -> Any:
    def output_fields(params: NewContactParams) -> list[str]:
        names: list[str] = []
        for name in ["Id", *params.fields, *_extra_fields(params, ts_field)]:
            if name.lower() not in {known.lower() for known in names}:
                names.append(name)
        names.extend(f"_previous.{name}" for name in getattr(params, "watch_fields", []))
        return names

    return output_fields


async def _plan(ctx: PollContext, ts_field: str) -> Plan:
    params: NewContactParams = ctx.params  # type: ignore[assignment]
    client: SalesforceClient = ctx.connection
    also: Sequence[str] = _extra_fields(params, ts_field)
    return await build_plan(
        client,
        _object(params),
        params.fields,
        params.where,
        ts_field,
        also=also,
        overlap=overlap_for(params),
    )


async def _recent(ctx: PollContext, ts_field: str) -> list[Record]:
    plan = await _plan(ctx, ts_field)
    return await recent_records(ctx.connection, plan, ctx.limit or 3)


async def poll_pages(
    ctx: PollContext, plan: Plan, *, state: Mapping[str, Any] | None = None
) -> AsyncIterator[Page]:
    """Every record polled by ``plan`` from the zap's cursor, a page per batch read.

    Each page carries its settled cursor, so a zap whose look-back window holds more
    dedup keys than the store keeps moves past them instead (see :class:`Page`).
    ``state`` (trigger state to write) goes with the first page.
    """
    note = dict(state or {})
    async for batch in poll_batches(ctx.connection, plan, ctx.cursor, ctx.start):
        yield Page(
            records=[clean_record(record) for record in batch.records],
            cursor=batch.cursor.dump(),
            settled_cursor=batch.cursor.settled(),
            watermark=batch.watermark,
            usage=batch.usage,
            state=note,
        )
        note = {}


async def _poll_created(ctx: PollContext) -> AsyncIterator[Page]:
    """Yield pages of records created since the cursor, oldest first."""
    if ctx.limit:
        yield Page(records=await _recent(ctx, "CreatedDate"), cursor=ctx.cursor)
        return
    async for page in poll_pages(ctx, await _plan(ctx, "CreatedDate")):
        yield page


async def _poll_updated(ctx: PollContext) -> AsyncIterator[Page]:
    """Yield pages of records created or changed since the cursor, oldest first."""
    if ctx.limit:
        yield Page(records=await _recent(ctx, "SystemModstamp"), cursor=ctx.cursor)
        return
    params: UpdatedRecordParams = ctx.params  # type: ignore[assignment]
    watch_names = params.watch_fields
    plan = await _plan(ctx, "SystemModstamp")
    if not watch_names:
        async for page in poll_pages(ctx, plan):
            yield page
        return
    # Salesforce's spelling of the watched fields, in the order the zap gave them.
    spelled = {name.lower(): name for name in plan.fields}
    watch = [spelled.get(name.lower(), name) for name in watch_names]
    if ctx.cursor is None and ctx.start == "now":
        async for page in _baseline(ctx.connection, plan, watch):
            yield page
        return
    seen_here: dict[str, dict[str, Any]] = {}
    async for batch in poll_batches(ctx.connection, plan, ctx.cursor, ctx.start):
        ids = [str(record["Id"]) for record in batch.records]
        known = dict(ctx.state.get([i for i in ids if i not in seen_here]))
        known.update({i: seen_here[i] for i in ids if i in seen_here})
        origin = batch.cursor.origin
        fired: list[Record] = []
        state: dict[str, Any] = {}
        for record in batch.records:
            record_id = str(record["Id"])
            current = {name: get_path(record, name) for name in watch}
            previous = known.get(record_id)
            if isinstance(previous, dict):
                before = {name: previous.get(name) for name in watch}
                fire = before != current
            else:
                before = dict.fromkeys(watch)
                created = record.get("CreatedDate")
                fire = origin is None or (created is not None and parse_datetime(created) > origin)
            if previous != current:
                state[record_id] = current
                seen_here[record_id] = current
            if fire:
                output = clean_record(record)
                output["_previous"] = before
                fired.append(output)
        yield Page(
            records=fired,
            cursor=batch.cursor.dump(),
            settled_cursor=batch.cursor.settled(),
            watermark=batch.watermark,
            state=state,
            usage=batch.usage,
        )


async def _baseline(
    client: SalesforceClient, plan: Plan, watch: Sequence[str]
) -> AsyncIterator[Page]:
    """The first poll of a ``start: "now"`` zap with ``watch_fields``: remember today's values.

    Without them, the first change of an existing record after the zap was turned on
    could not be told from a change to another field, and would not fire. Values
    newer than the starting cursor are not remembered, so that change still fires.
    """
    cursor, _read = await first_cursor(client, plan, "now")
    query = build_select(
        plan.object_name,
        ["Id", plan.ts_field, *[name for name in watch if name not in ("Id", plan.ts_field)]],
        plan.conditions,
        order_by=["Id"],
    )
    yielded = False
    async with aclosing(client.query(query)) as pages:
        async for page in pages:
            state = {
                str(record["Id"]): {name: get_path(record, name) for name in watch}
                for record in page.records
                if cursor.position is None
                or parse_datetime(record[plan.ts_field]) <= cursor.position.ts
            }
            yielded = True
            yield Page(
                records=[],
                cursor=cursor.dump(),
                watermark=cursor.position.ts if cursor.position else None,
                state=state,
                usage=page.usage,
            )
    if not yielded:
        yield Page(records=[], cursor=cursor.dump(), usage=client.usage)


CONTACT_SAMPLE: Record = {
    "Id": "003RO0000035WQgYAM",
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada@example.com",
    "Phone": "+14155550100",
    "CreatedDate": "2026-05-08T21:20:00.000+0000",
    "Owner": {"Name": "Grace Hopper"},
}

OPPORTUNITY_SAMPLE: Record = {
    "Id": "006RO00000AbCdEYAV",
    "Name": "Acme renewal",
    "StageName": "Closed Won",
    "Amount": 12000,
    "CloseDate": "2026-05-08",
    "CreatedDate": "2026-05-01T09:00:00.000+0000",
    "SystemModstamp": "2026-05-08T21:20:00.000+0000",
    "Owner": {"Name": "Grace Hopper"},
    "_previous": {"StageName": "Negotiation/Review"},
}


def _add_polling_trigger(
    app: App,
    name: str,
    *,
    params: type[NewContactParams],
    label: str,
    description: str,
    time_field: str,
) -> None:
    """Add trigger ``name`` to ``app``: records polled on ``time_field``, oldest first.

    On ``CreatedDate`` each record fires once, when it is created; on
    ``SystemModstamp`` it fires again at each change (keyed on its Id and that stamp).
    """
    created = time_field == "CreatedDate"
    poll = _poll_created if created else _poll_updated

    async def recent(ctx: PollContext) -> list[Record]:
        return await _recent(ctx, time_field)

    app.trigger(
        name,
        params=params,
        label=label,
        description=description,
        dedup_key="Id" if created else ("Id", time_field),
        overlap=overlap_for,
        sample=CONTACT_SAMPLE if created else OPPORTUNITY_SAMPLE,
        output_fields=_output_fields(time_field),
        recent=recent,
        time_field=time_field,
    )(poll)


def add_triggers(app: App) -> None:
    """Add the three Salesforce triggers to ``app``."""
    _add_polling_trigger(
        app,
        "new_record",
        params=NewRecordParams,
        label="New record",
        description="Fires when a record of the chosen object is created.",
        time_field="CreatedDate",
    )
    _add_polling_trigger(
        app,
        "new_contact",
        params=NewContactParams,
        label="New contact",
        description="Fires when a Contact is created.",
        time_field="CreatedDate",
    )
    _add_polling_trigger(
        app,
        "updated_record",
        params=UpdatedRecordParams,
        label="New or updated record",
        description="Fires when a record of the chosen object is created or changed.",
        time_field="SystemModstamp",
    )
