"""Building CleverTap upload records from params, refusing what CleverTap would refuse.

A record that cannot be sent (no identity, a restricted event name, a key or value
too long, a bad ``ts`` or JSON) becomes a :class:`~zaplite.Failure` with the reason,
so it fails alone and the rest of the batch is still sent.

Property values that are ``None`` or the empty string are dropped rather than sent:
a Salesforce field that is blank (or a template whose field is missing) renders as
``""``, and sending it would blank the user's existing property in CleverTap.
"""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from zaplite import Failure
from zaplite_clevertap.convert import (
    as_date_value,
    is_date_string,
    looks_like_date,
    to_epoch_seconds,
)

if TYPE_CHECKING:
    from zaplite_clevertap.params import EventParams, ProfileParams, UploadParams

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_VALUE_BYTES",
    "RESTRICTED_EVENTS",
    "RecordError",
    "build_record",
    "event_record",
    "profile_record",
]

MAX_KEY_BYTES = 120
MAX_VALUE_BYTES = 512

RESTRICTED_EVENTS: frozenset[str] = frozenset(
    {
        "Stayed",
        "Notification Clicked",
        "Notification Viewed",
        "UTM Visited",
        "Notification Sent",
        "App Launched",
        "App Uninstalled",
        "Notification Bounced",
        "Geocluster Entered",
        "Geocluster Exited",
    }
)
"""System event names CleverTap refuses to have raised through the API (error 513)."""

_RESTRICTED_FOLDED = {name.casefold(): name for name in RESTRICTED_EVENTS}


class RecordError(ValueError):
    """A record cannot be sent; ``code`` is CleverTap's code for the same refusal, if it has one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def build_record(params: UploadParams, step_id: str) -> dict[str, Any] | Failure:
    """The upload record for ``params`` (a profile or an event), or a ``Failure`` saying why not.

    The record was built when ``params`` were validated (see
    :meth:`~zaplite_clevertap.params.UploadParams.upload_record`); this adds the step
    to a refusal's message.
    """
    built = params.upload_record()
    if isinstance(built, RecordError):
        return Failure(message=f"step {step_id!r}: {built}", code=built.code)
    return built


def profile_record(params: ProfileParams) -> dict[str, Any]:
    """The ``profile`` upload record of ``params``; raises :class:`RecordError` if it cannot be sent."""
    record = _identify(params)
    record["type"] = "profile"
    record["profileData"] = _properties(params.profile, "profile", params.date_fields)
    return record


def event_record(params: EventParams) -> dict[str, Any]:
    """The ``event`` upload record of ``params``; raises :class:`RecordError` if it cannot be sent."""
    record = _identify(params)
    name = params.event_name.strip()
    if not name:
        raise RecordError("event_name is empty.", code=509)
    restricted = _RESTRICTED_FOLDED.get(name.casefold())
    if restricted is not None:
        raise RecordError(
            f"{restricted!r} is a restricted CleverTap system event and "
            "cannot be uploaded; choose another event name.",
            code=513,
        )
    _check_size("event name", name)
    record["type"] = "event"
    record["evtName"] = name
    record["evtData"] = _properties(params.event_properties, "event_properties", params.date_fields)
    return record


def _identify(params: UploadParams) -> dict[str, Any]:
    identity = "" if params.identity is None else str(params.identity).strip()
    object_id = (params.object_id or "").strip()
    if not identity and not object_id:
        raise RecordError(
            "identity or object_id is required (one of the two must be "
            "non-empty) to say which CleverTap user the record is about.",
            code=523,
        )
    record: dict[str, Any] = {}
    if identity:
        record["identity"] = identity
    if object_id:
        record["objectId"] = object_id
    ts = _timestamp(params.ts)
    if ts is not None:
        record["ts"] = ts
    return record


def _timestamp(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = to_epoch_seconds(value)
    except ValueError as error:
        raise RecordError(f"ts {error}.", code=525) from None
    if seconds <= 0:
        raise RecordError(
            f"ts {value!r} is not after 1970-01-01, which CleverTap refuses.",
            code=525,
        )
    return seconds


def _properties(raw: dict[str, Any] | str, field: str, date_fields: list[str]) -> dict[str, Any]:
    data = _as_object(raw, field)
    named_dates = set(date_fields)
    properties: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == "":
            continue
        name = key if type(key) is str else str(key)
        if len(name) * 4 > MAX_KEY_BYTES:
            _check_size("property name", name, limit=MAX_KEY_BYTES)
        if type(value) is str and name not in named_dates:  # the usual case, inlined
            if (
                len(value) >= 10
                and (value[4] == "-" or value[0].isspace())
                and is_date_string(value)
            ):
                value = as_date_value(value)
            elif len(value) * 4 > MAX_VALUE_BYTES:
                _check_size(f"value of property {name!r}", value)
        elif name in named_dates:
            try:
                value = as_date_value(value)
            except ValueError as error:
                raise RecordError(
                    f"property {name!r} is listed in date_fields but {error}."
                ) from None
        else:
            value = _convert(value, name)
        properties[name] = value
    return properties


def _convert(value: Any, name: str) -> Any:
    if type(value) is str:  # the usual case first; the same steps as for str below
        if looks_like_date(value):
            return as_date_value(value)
        if len(value) * 4 > MAX_VALUE_BYTES:  # no character takes more than 4 bytes in UTF-8
            _check_size(f"value of property {name!r}", value)
        return value
    if isinstance(value, date):  # datetime included: a trigger written in Python may yield one
        return as_date_value(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"property {name!r} is {value}, which JSON cannot carry.")
    if isinstance(value, str):
        if looks_like_date(value):
            return as_date_value(value)
        _check_size(f"value of property {name!r}", value)
        return value
    if isinstance(value, list):
        return [_convert(item, name) for item in value if item is not None and item != ""]
    if isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or item == "":
                continue
            _check_size("property name", str(key), limit=MAX_KEY_BYTES)
            converted[str(key)] = _convert(item, f"{name}.{key}")
        return converted
    return value


def _as_object(raw: dict[str, Any] | str, field: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = raw.strip()
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise RecordError(
            f"{field} is not valid JSON ({error.args[0]}); give an object "
            'such as {"Name": "Jack"}.'
        ) from None
    if not isinstance(parsed, dict):
        raise RecordError(
            f"{field} must be a JSON object of property names and values, "
            f"not a {type(parsed).__name__}."
        )
    return parsed


def _check_size(what: str, text: str, limit: int = MAX_VALUE_BYTES) -> None:
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes in UTF-8
        return
    size = len(text.encode("utf-8"))
    if size > limit:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise RecordError(
            f"the {what} {shown!r} is {size} bytes long; CleverTap accepts at most {limit}."
        )
