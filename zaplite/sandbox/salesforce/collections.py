"""sObject Collections: ``/services/data/vXX.X/composite/sobjects``, up to 200 records in one call.

- ``POST`` ``{"allOrNone": false, "records": [{"attributes": {"type": "Contact"}, ...}]}``
  creates the records; ``PATCH`` (each record with its ``id``) updates them; ``DELETE
  ?ids=a,b[&allOrNone=true]`` moves them to the recycle bin. Each answers a list, one entry
  per record in order: ``{"id", "success": true, "errors": []}`` or ``{"success": false,
  "errors": [{"statusCode", "message", "fields"}]}``.
- ``GET /composite/sobjects/{Object}?ids=a,b&fields=X,Y`` answers the records (``null``
  for an id that is not found).
- With ``allOrNone`` true and one record refused, nothing is written: the refused
  records carry their own error, the others ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
- More than 200 records (or ids) is refused as a whole with ``EXCEEDED_ID_LIMIT``. The call
  counts as one API request, as Salesforce counts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .data import RecordError, _check_required
from .ids import normalize_id

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator
    from .schema import ObjectDef

__all__ = ["MAX_RECORDS", "Collections"]

MAX_RECORDS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}

Write = Callable[[], str]
"""A checked write, done later: returns the record's id."""


def _failure(error: RecordError) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [
            {"statusCode": error.error_code, "message": error.message, "fields": error.fields or []}
        ],
    }


class Collections:
    """The writes and reads of sObject Collections on one emulator's store."""

    def __init__(self, emu: SalesforceEmulator) -> None:
        self.emu = emu
        self.store = emu.store

    # ----------------------------------------------------------------- checks

    @staticmethod
    def check_size(count: int, what: str = "records") -> None:
        """Refuse more than :data:`MAX_RECORDS` in one call, as Salesforce does."""
        if count > MAX_RECORDS:
            raise RecordError(
                f"The number of {what} ({count}) exceeds the limit of {MAX_RECORDS}.",
                "EXCEEDED_ID_LIMIT",
            )

    def _object_of(self, record: Any, *, record_id: str | None = None) -> ObjectDef:
        if not isinstance(record, dict):
            raise RecordError("Each record must be a JSON object.", "JSON_PARSER_ERROR")
        kind = (record.get("attributes") or {}).get("type")
        if kind is None and record_id is not None:
            found = self.store.find(record_id)
            if found is not None:
                return found[0]
        if not kind:
            raise RecordError(
                "Each record must name its sObject type in attributes.type.", "INVALID_TYPE"
            )
        obj = self.emu.schema.get(kind)
        if obj is None:
            raise RecordError(f"sObject type '{kind}' is not supported.", "INVALID_TYPE")
        return obj

    @staticmethod
    def _values(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}

    def _create(self, record: Any) -> Write:
        """Check a record to create as the store checks it, writing nothing; the write itself."""
        obj = self._object_of(record)
        if record.get("id") or record.get("Id"):
            raise RecordError("cannot specify Id in an insert call", "INVALID_FIELD")
        values = self._values(record)
        given = self.store._canonical(obj, values, api=True, insert=True)
        template, required, _ = self.store._template(obj)
        _check_required(required, {**template, **given})
        return lambda: self.store.insert(obj.name, values, api=True)["Id"]

    def _update(self, record: Any) -> Write:
        """Check an update (the record exists, the values are valid); the write itself."""
        raw_id = record.get("id") or record.get("Id") if isinstance(record, dict) else None
        if not raw_id:
            raise RecordError("Each record to update must carry its id.", "MISSING_ARGUMENT")
        obj = self._object_of(record, record_id=str(raw_id))
        record_id = normalize_id(str(raw_id))
        old = self.store.get(obj.name, record_id) if record_id else None
        if old is None or old.get("IsDeleted"):
            raise RecordError(
                "entity is deleted" if old is not None else "The requested resource does not exist",
                "ENTITY_IS_DELETED" if old is not None else "NOT_FOUND",
            )
        values = self._values(record)
        given = self.store._canonical(obj, values, api=True, insert=False)
        _check_required(
            [f for f in obj.fields.values() if not f.nillable and f.name in given], {**old, **given}
        )
        assert record_id is not None
        return lambda: self.store.update(obj.name, record_id, values, api=True)["Id"]

    def _delete(self, raw_id: str) -> Write:
        found = self.store.find(raw_id)
        if found is None or found[1].get("IsDeleted"):
            raise RecordError(
                "entity is deleted"
                if found is not None
                else "The requested resource does not exist",
                "ENTITY_IS_DELETED" if found is not None else "NOT_FOUND",
            )
        obj, row = found
        return lambda: self.store.delete(obj.name, row["Id"])["Id"]

    # ----------------------------------------------------------------- calls

    def _apply(
        self, items: list[Any], check: Callable[[Any], Write], all_or_none: bool
    ) -> list[dict[str, Any]]:
        """Check then write each item (under the store's lock, so allOrNone holds)."""
        with self.store.lock:
            if all_or_none:
                writes: list[Write | RecordError] = []
                for item in items:
                    try:
                        writes.append(check(item))
                    except RecordError as error:
                        writes.append(error)
                if any(isinstance(w, RecordError) for w in writes):
                    return [
                        _failure(w)
                        if isinstance(w, RecordError)
                        else {"success": False, "errors": [ROLLED_BACK]}
                        for w in writes
                    ]
                return [
                    {"id": write(), "success": True, "errors": []}
                    for write in writes
                    if not isinstance(write, RecordError)
                ]
            results = []
            for item in items:
                try:
                    results.append({"id": check(item)(), "success": True, "errors": []})
                except RecordError as error:
                    results.append(_failure(error))
            return results

    def write(self, method: str, body: Any) -> list[dict[str, Any]]:
        """``POST`` (create) or ``PATCH`` (update) of ``{"allOrNone", "records"}``."""
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise RecordError(
                "The request body must be a JSON object with a records list.", "JSON_PARSER_ERROR"
            )
        records = body["records"]
        self.check_size(len(records))
        check = self._create if method == "POST" else self._update
        return self._apply(records, check, bool(body.get("allOrNone")))

    def delete(self, ids: list[str], all_or_none: bool) -> list[dict[str, Any]]:
        """``DELETE ?ids=...``: each record to the recycle bin."""
        self.check_size(len(ids), "ids")
        return self._apply(ids, self._delete, all_or_none)

    def read(self, object_name: str, ids: list[str], fields: list[str], version: str) -> list[Any]:
        """``GET /composite/sobjects/{Object}?ids=&fields=``: each record, or ``None``."""
        obj = self.emu.schema.get(object_name)
        if obj is None:
            raise RecordError(
                f"sObject type '{object_name}' is not supported.", "NOT_FOUND", status=404
            )
        if not fields:
            raise RecordError("The fields parameter is required.", "MISSING_ARGUMENT")
        self.check_size(len(ids), "ids")
        unknown = [f for f in fields if obj.field(f) is None]
        if unknown:
            raise RecordError(
                f"No such column '{unknown[0]}' on sobject of type {obj.name}", "INVALID_FIELD"
            )
        out: list[Any] = []
        with self.store.lock:
            for raw in ids:
                row = self.store.get(obj.name, raw)
                out.append(
                    None
                    if row is None or row.get("IsDeleted")
                    else self.store.to_json(
                        obj, row, version, ["Id", *[f for f in fields if f != "Id"]]
                    )
                )
        return out
