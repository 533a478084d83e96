"""The record store: per-object rows, writes that stamp audit fields, and value formatting.

Rows are plain dicts keyed by canonical field names and are never changed in place:
a write stores a new dict. A query result can therefore keep references to rows as
a snapshot without copying them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from .ids import IdFactory, normalize_id
from .schema import NUMBER_TYPES, OPPORTUNITY_STAGES, FieldDef, ObjectDef, Schema

__all__ = [
    "RecordError",
    "RecordStore",
    "SortedIndex",
    "format_datetime",
    "format_value",
    "now_ms",
    "parse_datetime",
]

Row = dict[str, Any]


class RecordError(ValueError):
    """A write Salesforce would refuse: carries the HTTP status and the REST error body."""

    def __init__(
        self, message: str, error_code: str, *, status: int = 400, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The REST error body: a list with one ``{message, errorCode, fields}`` entry."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


def now_ms() -> datetime:
    """The current UTC time truncated to milliseconds (Salesforce's timestamp precision)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_datetime(value: str | datetime) -> datetime:
    """A UTC, millisecond-precision datetime from a datetime or an ISO-8601 / Salesforce string."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]  # +0000 → +00:00
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _stamp(timestamp: str | datetime | None) -> datetime:
    """``timestamp`` as a datetime, or now (to the millisecond) when there is none."""
    return parse_datetime(timestamp) if timestamp is not None else now_ms()


@lru_cache(maxsize=8192)
def format_datetime(value: datetime) -> str:
    """A datetime as Salesforce writes it: ``2026-05-08T21:20:00.000+0000`` (cached: rows share stamps)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_value(fdef: FieldDef, value: Any) -> Any:
    """A stored value as it appears in a JSON response for a field of ``fdef``'s type."""
    if value is None:
        return None
    if fdef.type == "datetime":
        return format_datetime(value)
    if fdef.type == "date":
        return value.isoformat()
    if fdef.type in ("double", "currency", "percent"):
        return float(value)
    return value


def _coerce(obj: ObjectDef, fdef: FieldDef, value: Any) -> Any:
    """``value`` converted to ``fdef``'s stored type; raises :class:`RecordError` when it cannot be."""
    if value is None:
        return None
    kind = fdef.type
    try:
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError(value)
        if kind in NUMBER_TYPES:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            return int(number) if kind == "int" else number
        if kind == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            return date.fromisoformat(str(value)[:10])
        if kind == "datetime":
            if isinstance(value, date) and not isinstance(value, datetime):
                value = datetime(value.year, value.month, value.day, tzinfo=UTC)
            return parse_datetime(value)
        if kind in ("id", "reference"):
            normal = normalize_id(str(value))
            if normal is None:
                raise RecordError(
                    f"{fdef.label}: id value of incorrect type: {value}",
                    "MALFORMED_ID",
                    fields=[fdef.name],
                )
            return normal
        if isinstance(value, dict | list):
            raise ValueError(value)
        return value if isinstance(value, str) else str(value)
    except RecordError:
        raise
    except (TypeError, ValueError, OverflowError):
        raise RecordError(
            f"Cannot deserialize instance of {kind} from value {value!r} for field "
            f"{fdef.name} on {obj.name}.",
            "JSON_PARSER_ERROR",
        ) from None


def _check_required(fields: Iterable[FieldDef], row: Row) -> None:
    """Raise ``REQUIRED_FIELD_MISSING`` when one of ``fields`` is empty in ``row``."""
    missing = [f.name for f in fields if row.get(f.name) in (None, "")]
    if missing:
        raise RecordError(
            f"Required fields are missing: [{', '.join(missing)}]",
            "REQUIRED_FIELD_MISSING",
            fields=missing,
        )


class SortedIndex:
    """The ids of one object's rows ordered by ``(field value, Id)``, kept up to date on writes.

    Built on the first query that orders by a non-nillable field (``SystemModstamp``,
    ``CreatedDate``, ``Id``...), so that such a query reads rows in order from its lower
    bound and stops at its LIMIT instead of filtering and sorting the whole table.
    """

    def __init__(self, field_name: str, rows: Iterable[Row]) -> None:
        self.field = field_name
        self.keys: list[tuple[Any, str]] = sorted((row[field_name], row["Id"]) for row in rows)

    def add(self, row: Row) -> None:
        """Index a new row."""
        key = (row[self.field], row["Id"])
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
        else:
            bisect.insort(self.keys, key)

    def replace(self, old: Row, new: Row) -> None:
        """Re-index a row whose indexed value may have changed."""
        old_key = (old[self.field], old["Id"])
        if old_key == (new[self.field], new["Id"]):
            return
        position = bisect.bisect_left(self.keys, old_key)
        if position < len(self.keys) and self.keys[position] == old_key:
            del self.keys[position]
        self.add(new)

    def start(self, lower: Any) -> int:
        """The position of the first key whose value is at least ``lower``."""
        return bisect.bisect_left(self.keys, (lower,))


class RecordStore:
    """Every record of the org, per object, with Salesforce's write rules.

    All methods are thread-safe (the HTTP app and the test thread share one store).
    """

    def __init__(self, schema: Schema, ids: IdFactory | None = None) -> None:
        self.schema = schema
        self.ids = ids or IdFactory()
        self.lock = threading.RLock()
        self._tables: dict[str, dict[str, Row]] = {}
        self._indexes: dict[tuple[str, str], SortedIndex] = {}
        self._templates: dict[tuple[str, int], tuple[Row, list[FieldDef], set[str]]] = {}
        self.default_user_id: str | None = None
        self.listeners: list[Callable[[str, Row, Row | None], None]] = []
        """Called after every write with the object's name, the new row and the old one."""

    def table(self, obj: ObjectDef) -> dict[str, Row]:
        """The live rows of ``obj`` (id → row) in insertion order; read it under :attr:`lock`."""
        return self._tables.setdefault(obj.name, {})

    def index(self, obj: ObjectDef, field_name: str) -> SortedIndex:
        """The sorted index of ``obj`` on ``field_name`` (built on first use); call under :attr:`lock`."""
        key = (obj.name, field_name)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = SortedIndex(field_name, self.table(obj).values())
        return index

    def _store(self, obj: ObjectDef, row: Row, old: Row | None) -> None:
        """Put ``row`` in its table and keep the object's indexes in step."""
        self.table(obj)[row["Id"]] = row
        for (name, _), index in self._indexes.items():
            if name == obj.name:
                if old is None:
                    index.add(row)
                else:
                    index.replace(old, row)
        for listener in self.listeners:
            listener(obj.name, row, old)

    def find(self, record_id: str) -> tuple[ObjectDef, Row] | None:
        """The object and row of any record by id (15 or 18 characters), or ``None``."""
        normal = normalize_id(record_id)
        if normal is None:
            return None
        with self.lock:
            for obj in self.schema.objects():
                if obj.key_prefix == normal[:3]:
                    row = self._tables.get(obj.name, {}).get(normal)
                    if row is not None:
                        return obj, row
        return None

    def get(self, object_name: str, record_id: str) -> Row | None:
        """The row of ``object_name`` with id ``record_id``, or ``None``."""
        obj = self.schema.require(object_name)
        normal = normalize_id(record_id)
        with self.lock:
            return self.table(obj).get(normal) if normal else None

    def _canonical(
        self, obj: ObjectDef, values: Mapping[str, Any], *, api: bool, insert: bool
    ) -> Row:
        """``values`` with canonical field names and stored types, checked as Salesforce checks them."""
        out: Row = {}
        readonly: list[str] = []
        for name, value in values.items():
            fdef = obj.field(name)
            if fdef is None:
                raise RecordError(
                    f"No such column '{name}' on sobject of type {obj.name}", "INVALID_FIELD"
                )
            writable = fdef.createable if insert else fdef.updateable
            if api and not writable:
                readonly.append(fdef.name)
                continue
            if not api and (fdef.name == "Id" or (fdef.calculated and obj.name_computed)):
                continue  # the platform sets these
            out[fdef.name] = _coerce(obj, fdef, value)
        if readonly:
            raise RecordError(
                f"Unable to create/update fields: {', '.join(readonly)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                fields=readonly,
            )
        for name, value in out.items():
            fdef = obj.fields[name]
            if fdef.type == "reference" and value is not None and fdef.reference_to:
                target = self.schema.require(fdef.reference_to)
                if out[fdef.name] not in self.table(target):
                    raise RecordError(
                        f"{fdef.label}: id value of incorrect type: {out[fdef.name]}",
                        "FIELD_INTEGRITY_EXCEPTION" if api else "INVALID_CROSS_REFERENCE_KEY",
                        fields=[fdef.name],
                    )
        return out

    @staticmethod
    def _derive(obj: ObjectDef, row: Row, changed: Mapping[str, Any]) -> None:
        """Recompute calculated fields after a write (Name, Opportunity stage flags)."""
        if obj.name_computed:
            row["Name"] = (
                " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p) or None
            )
        if obj.name == "Opportunity" and row.get("StageName") in OPPORTUNITY_STAGES:
            probability, closed, won = OPPORTUNITY_STAGES[row["StageName"]]
            row["IsClosed"], row["IsWon"] = closed, won
            if "StageName" in changed and "Probability" not in changed:
                row["Probability"] = probability

    def _template(self, obj: ObjectDef) -> tuple[Row, list[FieldDef], set[str]]:
        """A new row's default values, the required fields, and the reference fields of ``obj``."""
        key = (obj.name, len(obj.fields))
        cached = self._templates.get(key)
        if cached is None:
            template: Row = {}  # rows are sparse: a field never set reads as None
            for fdef in obj.fields.values():
                if fdef.type == "boolean":
                    template[fdef.name] = False
            if obj.name == "User":
                template["IsActive"] = True
            if obj.name == "Lead":
                template["Status"] = "Open - Not Contacted"
            required = [f for f in obj.fields.values() if f.required]
            references = {f.name for f in obj.fields.values() if f.type == "reference"}
            cached = self._templates[key] = (template, required, references)
        return cached

    def _new_row(
        self, obj: ObjectDef, values: Mapping[str, Any], ts: datetime, *, api: bool
    ) -> Row:
        given = self._canonical(obj, values, api=api, insert=True)
        template, required, _ = self._template(obj)
        row: Row = dict(template)
        row.update(given)
        _check_required(required, row)
        row["Id"] = self.ids.new(obj.key_prefix)
        user = self.default_user_id or row["Id"]
        for name, default in (
            ("OwnerId", user),
            ("CreatedById", user),
            ("LastModifiedById", user),
            ("CreatedDate", ts),
            ("LastModifiedDate", ts),
            ("SystemModstamp", ts),
        ):
            if name in obj.fields and row.get(name) is None:
                row[name] = default
        self._derive(obj, row, given)
        return row

    def insert_many(
        self,
        object_name: str,
        records: Iterable[Mapping[str, Any]],
        *,
        timestamp: datetime | None = None,
        api: bool = False,
    ) -> list[Row]:
        """Insert several records sharing one timestamp (a bulk insert); all or none are stored."""
        obj = self.schema.require(object_name)
        with self.lock:
            ts = _stamp(timestamp)
            rows = [self._new_row(obj, values, ts, api=api) for values in records]
            for row in rows:
                self._store(obj, row, None)
            if obj.name == "User" and self.default_user_id is None and rows:
                self.default_user_id = rows[0]["Id"]
            return rows

    def insert(
        self,
        object_name: str,
        values: Mapping[str, Any],
        *,
        timestamp: datetime | None = None,
        api: bool = False,
    ) -> Row:
        """Insert one record; returns the stored row."""
        return self.insert_many(object_name, [values], timestamp=timestamp, api=api)[0]

    def update(
        self,
        object_name: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        timestamp: datetime | None = None,
        api: bool = False,
    ) -> Row:
        """Change fields of a record, bumping LastModifiedDate and SystemModstamp; returns the new row."""
        obj = self.schema.require(object_name)
        with self.lock:
            old = self._live(obj, record_id)
            given = self._canonical(obj, values, api=api, insert=False)
            row = dict(old)
            row.update(given)
            _check_required(
                [f for f in obj.fields.values() if not f.nillable and f.name in given], row
            )
            ts = _stamp(timestamp)
            if "LastModifiedDate" not in given:
                row["LastModifiedDate"] = ts
            if "SystemModstamp" not in given:
                row["SystemModstamp"] = ts
            self._derive(obj, row, given)
            self._store(obj, row, old)
            return row

    def delete(self, object_name: str, record_id: str, *, timestamp: datetime | None = None) -> Row:
        """Move a record to the recycle bin: ``IsDeleted`` true, seen only by ``queryAll``.

        The delete stamps ``SystemModstamp``, as Salesforce's does, so a poll of
        ``queryAll ... WHERE IsDeleted = true`` ordered by it finds the deletion.
        """
        obj = self.schema.require(object_name)
        with self.lock:
            return self._recycle(obj, self._live(obj, record_id), True, timestamp)

    def undelete(
        self, object_name: str, record_id: str, *, timestamp: datetime | None = None
    ) -> Row:
        """Restore a record from the recycle bin: ``IsDeleted`` false, visible to ``query`` again."""
        obj = self.schema.require(object_name)
        with self.lock:
            old = self.get(obj.name, record_id)
            if old is None or not old.get("IsDeleted"):
                raise RecordError(
                    "The requested resource does not exist"
                    if old is None
                    else "entity is not in the recycle bin",
                    "NOT_FOUND" if old is None else "UNDELETE_FAILED",
                    status=404 if old is None else 400,
                )
            return self._recycle(obj, old, False, timestamp)

    def _live(self, obj: ObjectDef, record_id: str) -> Row:
        """The record's row unless it is missing or deleted (Salesforce's 404 then); under the lock."""
        old = self.get(obj.name, record_id)
        if old is None or old.get("IsDeleted"):
            raise RecordError(
                "The requested resource does not exist" if old is None else "entity is deleted",
                "NOT_FOUND" if old is None else "ENTITY_IS_DELETED",
                status=404,
            )
        return old

    def _recycle(self, obj: ObjectDef, old: Row, deleted: bool, timestamp: datetime | None) -> Row:
        """``old`` moved into the recycle bin (``deleted``) or out of it, stamped; under the lock."""
        ts = _stamp(timestamp)
        row = dict(old, IsDeleted=deleted, SystemModstamp=ts, LastModifiedDate=ts)
        self._store(obj, row, old)
        return row

    def rows(self, object_name: str) -> list[Row]:
        """A snapshot list of the rows of ``object_name`` (deleted ones included)."""
        obj = self.schema.require(object_name)
        with self.lock:
            return list(self.table(obj).values())

    def to_json(
        self, obj: ObjectDef, row: Row, version: str, fields: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A row as the REST API returns it: ``attributes`` first, then every (or each named) field."""
        out: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": f"{obj.url(version)}/{row['Id']}"}
        }
        for fdef in obj.fields.values() if fields is None else [obj.field(f) for f in fields]:
            if fdef is not None:
                out[fdef.name] = format_value(fdef, row.get(fdef.name))
        return out

    def plain(self, obj: ObjectDef, row: Row) -> dict[str, Any]:
        """A row as JSON-compatible values without ``attributes`` (for the admin API)."""
        return {name: format_value(fdef, row.get(name)) for name, fdef in obj.fields.items()}
