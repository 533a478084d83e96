"""Per-record checks of CleverTap's Upload API, with its codes and messages.

One straight pass over a record, in this order (the first failure wins, as the real
service reports one error per record):

1. the record is a JSON object (else 512),
2. ``type`` is ``"event"`` or ``"profile"`` (else 524),
3. ``identity`` is given and under 120 characters, or a valid ``objectId`` is (else 523;
   a malformed ``objectId`` is 526),
4. ``ts``, when given, is a positive integer of epoch **seconds** (else 525; a value of
   ten digits or more than 9,999,999,999 looks like milliseconds and is refused),
5. events: ``evtName`` present (509), not a restricted system event (513), ``evtData`` an
   object (512) of at most 256 properties (522);
   profiles: ``profileData`` an object (512), ``Gender`` ``M``/``F`` (514), ``Email``
   well formed (515), ``Phone`` ``+<country code><number>`` (516),
6. property keys at most 120 bytes and string values at most 512 bytes (UTF-8). The real
   service documents the limits but not the code it answers with; the emulator answers
   **512** ("Invalid event structure" / "Invalid profile structure") for both record types.

Messages follow the recorded real ones where a recording exists (509, 513, 523) and the
same ``<what>. ErrorCode: <code> - <why>.`` shape elsewhere; each ends with
``Skipped record number : N`` (1-based within the request).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "MAX_EVENT_PROPERTIES",
    "MAX_IDENTITY_CHARS",
    "MAX_KEY_BYTES",
    "MAX_TS",
    "MAX_VALUE_BYTES",
    "RESTRICTED_EVENTS",
    "check_record",
    "skipped",
]

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
MAX_IDENTITY_CHARS = 120
MAX_KEY_BYTES = 120
MAX_VALUE_BYTES = 512
MAX_EVENT_PROPERTIES = 256
MAX_TS = 9_999_999_999
"""The largest ``ts`` taken as epoch seconds (year 2286); larger values look like milliseconds."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+[1-9][0-9]{5,14}")
_IDENTITY_MSG = (
    "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars"
    " to identify the user."
)

Problem = tuple[int, str]


def skipped(message: str, number: int) -> str:
    """``message`` followed by CleverTap's `` Skipped record number : N`` suffix."""
    return f"{message} Skipped record number : {number}"


def _err(code: int, what: str, why: str) -> Problem:
    return code, f"{what}. ErrorCode: {code} - {why}."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_ids(record: dict[str, Any]) -> Problem | None:
    identity = record.get("identity")
    object_id = record.get("objectId")
    has_identity = identity is not None and identity != ""
    if has_identity and (
        not (isinstance(identity, str) or _is_int(identity))
        or len(str(identity)) >= MAX_IDENTITY_CHARS
    ):
        return 523, _IDENTITY_MSG
    if object_id is not None and (
        not isinstance(object_id, str)
        or not object_id.strip()
        or len(object_id) >= MAX_IDENTITY_CHARS
        or any(ch.isspace() for ch in object_id)
    ):
        return _err(
            526,
            "objectId is invalid",
            "'objectId' must be a non-empty string under 120 chars without spaces",
        )
    if not has_identity and object_id is None:
        return 523, _IDENTITY_MSG
    return None


def _check_ts(record: dict[str, Any]) -> Problem | None:
    if "ts" not in record:
        return None
    ts = record["ts"]
    if not _is_int(ts):
        return _err(525, "Timestamp is invalid", "'ts' must be an integer UNIX epoch in seconds")
    if ts <= 0:
        return _err(525, "Timestamp is invalid", "'ts' must be a positive UNIX epoch in seconds")
    if ts > MAX_TS:
        return _err(
            525,
            "Timestamp is invalid",
            "'ts' looks like milliseconds; it must be a UNIX epoch in seconds",
        )
    return None


def _check_sizes(props: dict[str, Any], what: str) -> Problem | None:
    """Keys ≤ 120 bytes, string values (also inside lists) ≤ 512 bytes."""
    for key, value in props.items():
        # A str of n characters is at most 4n bytes: skip the encoding when it cannot matter.
        if len(key) * 4 > MAX_KEY_BYTES and len(key.encode()) > MAX_KEY_BYTES:
            return _err(512, what, f"property key '{key[:40]}...' is longer than 120 bytes")
        if isinstance(value, str):
            if len(value) * 4 > MAX_VALUE_BYTES and len(value.encode()) > MAX_VALUE_BYTES:
                return _err(512, what, f"value of property '{key[:40]}' is longer than 512 bytes")
        elif isinstance(value, list):
            for item in value:
                if (
                    isinstance(item, str)
                    and len(item) * 4 > MAX_VALUE_BYTES
                    and len(item.encode()) > MAX_VALUE_BYTES
                ):
                    return _err(
                        512, what, f"a value of property '{key[:40]}' is longer than 512 bytes"
                    )
    return None


def _check_event(record: dict[str, Any]) -> Problem | None:
    name = record.get("evtName")
    if not isinstance(name, str) or not name.strip():
        return 509, "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory."
    if name in RESTRICTED_EVENTS:
        return (
            513,
            "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event.",
        )
    what = "Invalid event structure"
    if len(name.encode()) > MAX_VALUE_BYTES:
        return _err(512, what, "'evtName' is longer than 512 bytes")
    data = record.get("evtData", {})
    if not isinstance(data, dict):
        return _err(512, what, "'evtData' must be a JSON object")
    if len(data) > MAX_EVENT_PROPERTIES:
        return _err(522, "Event properties limit exceeded", "an event has at most 256 properties")
    return _check_sizes(data, what)


def _check_profile(record: dict[str, Any]) -> Problem | None:
    what = "Invalid profile structure"
    data = record.get("profileData")
    if not isinstance(data, dict):
        return _err(512, what, "'profileData' must be a JSON object")
    gender = data.get("Gender")
    if gender is not None and gender not in ("M", "F"):
        return _err(514, "Gender is invalid", "'Gender' must be M or F")
    email = data.get("Email")
    if email is not None and not (isinstance(email, str) and _EMAIL.fullmatch(email)):
        return _err(515, "Email is invalid", "'Email' must be an email address")
    phone = data.get("Phone")
    if phone is not None and not (isinstance(phone, str) and _PHONE.fullmatch(phone)):
        return _err(
            516,
            "Phone number is invalid",
            "'Phone' must start with + and the country code, digits only",
        )
    return _check_sizes(data, what)


def check_record(record: Any) -> Problem | None:
    """``(code, message)`` when CleverTap would skip ``record``, ``None`` when it is valid.

    The message does not yet carry the record number; add it with :func:`skipped`.
    """
    if not isinstance(record, dict):
        return _err(512, "Invalid event structure", "each record must be a JSON object")
    kind = record.get("type")
    if kind != "event" and kind != "profile":
        return _err(524, "Data is neither event nor profile", "'type' must be event or profile")
    problem = _check_ids(record) or _check_ts(record)
    if problem is not None:
        return problem
    return _check_event(record) if kind == "event" else _check_profile(record)
