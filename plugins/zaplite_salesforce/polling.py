"""Incremental polling by keyset on (timestamp, Id), with a look-back overlap.

The cursor a poll saves is a JSON object::

    {"ts": "2026-05-08T21:20:00Z", "id": "003...",   # the newest record delivered (keyset)
     "floor": {"ts": ..., "id": ...} | null,          # nothing at or before this ever fires
     "origin": "2026-05-08T21:00:00Z" | null,         # when a start="now" zap began watching
     "seen": {"1778275200000": 2000, ...}}              # new_record: records read per stamp

Each poll reads from ``ts - overlap`` (or strictly after ``(ts, id)`` when the overlap
is zero) in ``ORDER BY ts, Id`` order, so records committed late with an older
timestamp are still seen; the engine drops the keys it already delivered. The cursor
only ever moves forward, and ``floor`` keeps the overlap from reaching records that
existed before a ``start = "now"`` zap was turned on.

When the window holds a page or more of records, a ``new_record`` poll without
``where`` counts the window instead of reading it again (``lookback.py`` has the
method and why it is sound, and where it is not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from zaplite.errors import ParamsRejected, RetryableError
from zaplite_salesforce.bulk import bulk_batches
from zaplite_salesforce.connection import SalesforceClient
from zaplite_salesforce.errors import QueryLocatorExpired
from zaplite_salesforce.lookback import Seen
from zaplite_salesforce.records import clean_record
from zaplite_salesforce.schema import describe_object, resolve_field
from zaplite_salesforce.soql import (
    after_keyset,
    build_select,
    datetime_literal,
    equality_conditions,
    parse_datetime,
)

__all__ = [
    "DEFAULT_OVERLAP",
    "Batch",
    "Cursor",
    "Plan",
    "build_plan",
    "poll_batches",
    "recent_records",
]

DEFAULT_OVERLAP = timedelta(minutes=5)
"""How far back each poll looks again, unless a zap sets ``overlap_seconds``."""

MAX_LOCATOR_RESTARTS = 3


@dataclass(frozen=True)
class Plan:
    """What one trigger polls: the object, the fields (Salesforce spelling), conditions, order."""

    object_name: str
    fields: tuple[str, ...]
    ts_field: str
    conditions: tuple[str, ...]
    overlap: timedelta = DEFAULT_OVERLAP
    query_all: bool = False
    """Read through ``/queryAll`` (records in the recycle bin too)."""

    def select(self, extra: Sequence[str] = (), *, descending: bool = False) -> str:
        """The query of this plan with ``extra`` conditions, in keyset order."""
        direction = " DESC" if descending else ""
        return build_select(
            self.object_name,
            self.fields,
            [*self.conditions, *extra],
            order_by=[f"{self.ts_field}{direction}", f"Id{direction}"],
        )


@dataclass(frozen=True)
class Position:
    """A place in ``(timestamp, Id)`` order; an empty ``id`` sorts before every record."""

    ts: datetime
    id: str = ""

    def dump(self) -> dict[str, str]:
        """JSON form."""
        return {"ts": datetime_literal(self.ts), "id": self.id}

    @classmethod
    def load(cls, data: Any) -> Position | None:
        """Parse the JSON form (``None`` stays ``None``)."""
        if not data:
            return None
        return cls(ts=parse_datetime(str(data["ts"])), id=str(data.get("id") or ""))

    def key(self) -> tuple[datetime, str]:
        """The sort key."""
        return (self.ts, self.id)


@dataclass(frozen=True)
class Cursor:
    """The saved state of a poll (see the module docstring)."""

    position: Position | None = None
    floor: Position | None = None
    origin: datetime | None = None
    seen: Seen | None = None
    """Records read per stamp in the window (``lookback.py``); ``None``: not counted."""
    bulk: dict[str, Any] | None = None
    """The Bulk API job reading the backlog and its results page (``bulk.py``), if any."""

    def dump(self) -> dict[str, Any]:
        """JSON form."""
        data: dict[str, Any] = self.position.dump() if self.position else {"ts": None, "id": None}
        data["floor"] = self.floor.dump() if self.floor else None
        data["origin"] = datetime_literal(self.origin) if self.origin else None
        if self.seen is not None:
            data["seen"] = self.seen.dump()
        if self.bulk is not None:
            data["bulk"] = dict(self.bulk)
        return data

    @classmethod
    def load(cls, data: Any) -> Cursor:
        """Parse a saved cursor; anything else is a configuration error."""
        if not isinstance(data, Mapping):
            raise ParamsRejected("The saved Salesforce cursor of this zap is not readable.")
        try:
            position = Position.load(data) if data.get("ts") else None
            origin = parse_datetime(str(data["origin"])) if data.get("origin") else None
            return cls(
                position=position,
                floor=Position.load(data.get("floor")),
                origin=origin,
                seen=Seen.load(data.get("seen")),
                bulk=dict(data["bulk"]) if isinstance(data.get("bulk"), Mapping) else None,
            )
        except (KeyError, TypeError, ValueError):
            raise ParamsRejected(
                "The saved Salesforce cursor of this zap is not readable."
            ) from None

    def advanced(self, position: Position) -> Cursor:
        """This cursor moved to ``position`` if that is further on (never backwards)."""
        if self.position is not None and position.key() <= self.position.key():
            return self
        return replace(self, position=position)

    def low(self, plan: Plan) -> datetime | None:
        """Where the overlap window starts (``None``: no window, the keyset alone)."""
        if self.position is None or plan.overlap <= timedelta(0):
            return None
        return self.position.ts - plan.overlap

    def settled(self) -> dict[str, Any] | None:
        """JSON form of this cursor with its floor raised to its position, or ``None`` before one.

        A poll from it reads nothing at or before the position, look-back included: the
        engine saves it when the dedup keys of the look-back window are too many to keep.
        """
        if self.position is None:
            return None
        return Cursor(position=self.position, floor=self.position, origin=self.origin).dump()

    def conditions(self, plan: Plan) -> list[str]:
        """The keyset conditions of the next query."""
        if self.position is None:
            return [after_keyset(plan.ts_field, self.floor.ts, self.floor.id)] if self.floor else []
        low = self.low(plan)
        if low is None:
            return [after_keyset(plan.ts_field, self.position.ts, self.position.id)]
        return self.window_conditions(plan, low)

    def window_conditions(self, plan: Plan, low: datetime) -> list[str]:
        """Everything at or after ``low``, but never at or before the ``start="now"`` floor."""
        conditions = [after_keyset(plan.ts_field, low, None)]
        if self.floor is not None and self.floor.ts >= low:
            conditions.append(after_keyset(plan.ts_field, self.floor.ts, self.floor.id))
        return conditions


@dataclass
class Batch:
    """One Salesforce page of a poll: raw records and the cursor after them."""

    records: list[dict[str, Any]]
    cursor: Cursor
    watermark: datetime | None
    usage: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def build_plan(
    client: SalesforceClient,
    object_name: str,
    fields: Sequence[str],
    where: Mapping[str, Any],
    ts_field: str,
    *,
    also: Sequence[str] = (),
    overlap: timedelta = DEFAULT_OVERLAP,
    query_all: bool = False,
) -> Plan:
    """Check the names against describe and build the plan (``Id`` and ``ts_field`` added).

    A plan depends only on its arguments and on the object's describe, which the
    connection caches for its whole life, so the connection keeps the plans too: a zap
    builds the same plan at every poll.
    """
    key = (
        object_name,
        tuple(fields),
        tuple((name, repr(value)) for name, value in where.items()),
        ts_field,
        tuple(also),
        overlap,
        query_all,
    )
    plan = client.plans.get(key)
    if plan is None:
        plan = await _build_plan(client, object_name, fields, where, ts_field, also, overlap)
        if query_all:
            plan = replace(plan, query_all=True)
        client.plans[key] = plan
    return plan


async def _build_plan(
    client: SalesforceClient,
    object_name: str,
    fields: Sequence[str],
    where: Mapping[str, Any],
    ts_field: str,
    also: Sequence[str],
    overlap: timedelta,
) -> Plan:
    describe = await describe_object(client, object_name)
    spelled_object = str(describe.get("name") or object_name)
    names: list[str] = []
    seen: set[str] = set()
    for name in ["Id", *fields, ts_field, *also]:
        resolved = await resolve_field(client, spelled_object, name)
        if resolved.name.lower() not in seen:
            seen.add(resolved.name.lower())
            names.append(resolved.name)
    types: dict[str, str] = {}
    spelled_where: dict[str, Any] = {}
    for name, value in where.items():
        resolved = await resolve_field(client, spelled_object, name)
        if not resolved.filterable:
            raise ParamsRejected(
                f"The field {resolved.name!r} of Salesforce object {spelled_object!r} "
                "cannot be used in a where condition."
            )
        spelled_where[resolved.name] = value
        if resolved.type:
            types[resolved.name] = resolved.type
    try:
        conditions = equality_conditions(spelled_where, types)
    except ValueError as error:
        raise ParamsRejected(f"Invalid where condition: {error}.") from None
    return Plan(
        object_name=spelled_object,
        fields=tuple(names),
        ts_field=str(ts_field),
        conditions=tuple(conditions),
        overlap=overlap,
    )


async def first_cursor(client: SalesforceClient, plan: Plan, start: Any) -> tuple[Cursor, bool]:
    """The cursor of a zap's first poll, and whether that poll should read (False: start now)."""
    if start == "all":
        return Cursor(), True
    if isinstance(start, datetime | str) and start != "now":
        instant = parse_datetime(start)
        return Cursor(floor=Position(instant)), True
    newest = await _newest(client, plan)
    return Cursor(position=newest, floor=newest, origin=newest.ts), False


async def _newest(client: SalesforceClient, plan: Plan) -> Position:
    """The newest ``(ts, Id)`` of the object, or the server's time when it has no records."""
    query = build_select(
        plan.object_name,
        ["Id", plan.ts_field],
        order_by=[f"{plan.ts_field} DESC", "Id DESC"],
        limit=1,
    )
    async with aclosing(client.query(query, all_rows=plan.query_all)) as pages:
        async for page in pages:
            for record in page.records:
                return Position(parse_datetime(record[plan.ts_field]), str(record["Id"]))
            break
    now = client.server_date or datetime.now(UTC)
    return Position(now.replace(microsecond=0))


async def poll_batches(
    client: SalesforceClient,
    plan: Plan,
    saved: Any,
    start: Any,
) -> AsyncIterator[Batch]:
    """Yield the poll's pages, each with the cursor after its last record.

    A page's watermark is the cursor's timestamp: the engine keeps the dedup keys of
    the records it delivered until they fall out of the overlap behind it.
    """
    if saved is None:
        cursor, read = await first_cursor(client, plan, start)
        if not read:
            if counts_window(plan):
                cursor = replace(cursor, seen=Seen())
            yield Batch([], cursor, _watermark(cursor), client.usage)
            return
        threshold = client.settings.bulk_threshold
        # A queryAll plan (deleted records) stays on REST: the Bulk job reads with "query".
        if threshold and not plan.query_all and await _backlog(client, plan, cursor) > threshold:
            cursor = replace(cursor, bulk={})
    else:
        cursor = Cursor.load(saved)
    if cursor.bulk is not None:
        fresh = replace(cursor, bulk=None) if not cursor.bulk else cursor
        async for batch in bulk_batches(client, plan, fresh, counted=counts_window(plan)):
            yield batch
        return
    low = cursor.low(plan)
    if (
        low is not None
        and counts_window(plan)
        and cursor.seen is not None
        and cursor.seen.since(low).total() >= client.settings.page_size
    ):
        async for batch in _read_new_and_count(client, plan, cursor, low):
            if batch is None:  # the counts differ: read the window, deleted records too
                async for again in _read_window(client, plan, cursor, all_rows=True):
                    yield again
                return
            cursor = batch.cursor
            yield batch
        return
    async for batch in _read_window(client, plan, cursor, all_rows=False):
        yield batch


async def _backlog(client: SalesforceClient, plan: Plan, cursor: Cursor) -> int:
    """How many records a first poll from ``cursor`` would read (a ``COUNT()``)."""
    (answer,) = await client.first_pages([(build_count(plan, cursor.conditions(plan)), False)])
    return int(answer.get("totalSize") or 0)


def counts_window(plan: Plan) -> bool:
    """Whether a poll of ``plan`` may count its window instead of reading it (``lookback.py``)."""
    return plan.ts_field == "CreatedDate" and not plan.conditions and plan.overlap > timedelta(0)


def _with_deleted(plan: Plan) -> Plan:
    """The plan a counted window is read with: ``queryAll``, so ``IsDeleted`` is selected too."""
    if any(name.lower() == "isdeleted" for name in plan.fields):
        return plan
    return replace(plan, fields=(*plan.fields, "IsDeleted"))


def _live(plan: Plan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a ``queryAll`` page that are not deleted, as ``query`` would return them."""
    asked = any(name.lower() == "isdeleted" for name in plan.fields)
    live = []
    for record in records:
        if record.get("IsDeleted") is True:
            continue
        if not asked:
            record.pop("IsDeleted", None)
        live.append(record)
    return live


async def _read_new_and_count(
    client: SalesforceClient, plan: Plan, cursor: Cursor, low: datetime
) -> AsyncIterator[Batch | None]:
    """The records after the cursor, then the window's count in the same call; ``None``: reread.

    The count is compared only when the new records came in the call's one page: a
    count made before a later page was read proves nothing (the next poll's does).
    """
    assert cursor.position is not None and cursor.seen is not None
    after = [after_keyset(plan.ts_field, cursor.position.ts, cursor.position.id)]
    newer = _with_deleted(plan).select(after)
    count = build_count(plan, cursor.window_conditions(plan, low))
    first, counted = await client.first_pages([(newer, True), (count, True)])
    seen: Seen | None = cursor.seen.since(low)
    one_page = first.get("done") is True or not first.get("nextRecordsUrl")
    async with aclosing(client.pages_from(first)) as pages:
        async for page in pages:
            seen = (
                seen.add(parse_datetime(r[plan.ts_field]) for r in page.records) if seen else None
            )
            cursor = _after(cursor, plan, page.records, seen)
            yield Batch(_live(plan, page.records), cursor, _watermark(cursor), page.usage)
    if one_page and (seen is None or int(counted.get("totalSize") or 0) != seen.since(low).total()):
        yield None


async def _read_window(
    client: SalesforceClient, plan: Plan, cursor: Cursor, *, all_rows: bool
) -> AsyncIterator[Batch]:
    """Read the overlap window and everything after it, counting what was read afresh.

    Read ``all_rows`` (through ``queryAll``: deleted records counted, not delivered),
    the count of what was read matches the window's count when nothing is unread, even
    with deleted records in the window (``lookback.py``); read without, it may count
    fewer, which only costs one more read.
    """
    restarts = 0
    counted = counts_window(plan)
    all_rows = all_rows and counted
    reading = _with_deleted(plan) if all_rows else plan
    while True:
        # Counted afresh by each read (a restart reads its whole window again).
        seen: Seen | None = Seen() if counted else None
        query = client.query(
            reading.select(cursor.conditions(plan)), all_rows=all_rows or plan.query_all
        )
        try:
            async with aclosing(query) as pages:
                async for page in pages:
                    records = page.records
                    if seen is not None:
                        seen = seen.add(parse_datetime(r[plan.ts_field]) for r in records)
                    if all_rows:
                        records = _live(plan, records)
                    cursor = _after(cursor, plan, page.records, seen)
                    yield Batch(records, cursor, _watermark(cursor), page.usage)
            return
        except QueryLocatorExpired:
            restarts += 1
            if restarts > MAX_LOCATOR_RESTARTS:
                raise RetryableError(
                    "Salesforce kept expiring the query cursor of this poll; it will be retried.",
                    code="INVALID_QUERY_LOCATOR",
                ) from None


def _after(cursor: Cursor, plan: Plan, records: list[dict[str, Any]], seen: Seen | None) -> Cursor:
    """The cursor after a page of ``records``, with the window's counts from its new low."""
    if records:
        # The query orders by (timestamp, Id), so a page ends at its furthest
        # record, in Salesforce's own order of Ids.
        last = records[-1]
        cursor = cursor.advanced(Position(parse_datetime(last[plan.ts_field]), str(last["Id"])))
    low = cursor.low(plan)
    if seen is not None and low is not None:
        seen = seen.since(low)
    return replace(cursor, seen=seen)


def build_count(plan: Plan, conditions: list[str]) -> str:
    """``SELECT COUNT() FROM <object> WHERE <conditions>`` (the plan's own conditions too)."""
    parts = [*plan.conditions, *conditions]
    where = f" WHERE {' AND '.join(parts)}" if parts else ""
    return f"SELECT COUNT() FROM {plan.object_name}{where}"


def _watermark(cursor: Cursor) -> datetime | None:
    return cursor.position.ts if cursor.position is not None else None


async def recent_records(client: SalesforceClient, plan: Plan, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` most recent records (newest first), cleaned."""
    query = plan.select(descending=True) + f" LIMIT {max(1, int(limit))}"
    async with aclosing(client.query(query, all_rows=plan.query_all)) as pages:
        async for page in pages:
            return [clean_record(record) for record in page.records[:limit]]
    return []
