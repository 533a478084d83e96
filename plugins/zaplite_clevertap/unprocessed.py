"""Mapping CleverTap's answer to one upload request back onto the records it carried.

Each ``unprocessed`` entry is matched to its own record by its "Skipped record
number : N" (1-based within that request), or, when the number is missing or out of
range, by the record it quotes (a JSON string or an object), compared on identity,
objectId, type, evtName and ts. Exactly those records get a ``Failure`` with
CleverTap's message and code, whatever the entry's own ``status`` says; the others
get a ``Success``. An entry that matches no record is logged and fails nothing.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from zaplite import Failure, Success
from zaplite.errors import PermanentError

__all__ = ["Outcome", "map_unprocessed"]

Outcome = Success | Failure
_SKIPPED = re.compile(r"Skipped record number\s*:\s*(\d+)", re.IGNORECASE)
_MATCH_KEYS = ("identity", "objectId", "type", "evtName", "ts")
log = logging.getLogger("zaplite.clevertap")


def map_unprocessed(sent: list[dict[str, Any]], body: Any) -> list[Outcome]:
    """Outcomes for the records of one request, given CleverTap's JSON answer to it."""
    if not isinstance(body, dict):
        raise PermanentError(f"CleverTap answered the upload with unexpected JSON: {body!r:.200}")
    entries = body.get("unprocessed") or []
    failures: dict[int, Failure] = {}
    unmatched: list[tuple[dict[str, Any], Failure]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("error") or entry.get("status") or "record not processed")
        failure = Failure(message=message, code=entry.get("code"))
        number = _record_number(message)
        if number is not None and 1 <= number <= len(sent) and number - 1 not in failures:
            failures[number - 1] = failure
        else:
            unmatched.append((entry, failure))
    for entry, failure in unmatched:
        index = _find_record(sent, _quoted_record(entry.get("record")), failures)
        if index is None:
            log.warning("could not tell which record CleverTap skipped: %s", failure.message)
        else:
            failures[index] = failure
    if body.get("status") == "fail" and not failures:
        said = body.get("error") or "status fail"
        raise PermanentError(f"CleverTap refused the upload: {said}.", code=body.get("code"))
    return [failures.get(index) or _success(record) for index, record in enumerate(sent)]


def _success(record: dict[str, Any]) -> Success:
    output: dict[str, Any] = {"status": "success", "type": record.get("type")}
    for key in ("identity", "objectId", "ts", "evtName"):
        if key in record:
            output[key] = record[key]
    return Success(output=output)


def _record_number(message: str) -> int | None:
    match = _SKIPPED.search(message)
    return int(match.group(1)) if match else None


def _quoted_record(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _find_record(
    sent: list[dict[str, Any]], quoted: dict[str, Any] | None, taken: dict[int, Failure]
) -> int | None:
    if not quoted:
        return None
    keys = [key for key in _MATCH_KEYS if key in quoted]
    if not keys:
        return None
    for index, record in enumerate(sent):
        if index in taken:
            continue
        if all(_same(record.get(key), quoted[key]) for key in keys):
            return index
    return None


def _same(ours: Any, theirs: Any) -> bool:
    if ours is None:
        return theirs in (None, "")
    return ours == theirs or str(ours) == str(theirs)
