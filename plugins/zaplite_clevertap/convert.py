"""Time conversions for CleverTap: ``ts`` as integer epoch seconds, dates as ``"$D_<epoch>"``.

Accepted inputs, everywhere a time is expected:

- a Salesforce date-time, ``2026-05-08T21:20:00.000+0000``;
- an ISO-8601 date (``2026-05-08``, midnight UTC) or date-time with ``Z``, an offset
  (``+05:30``, ``+0530``) or none (naive means UTC);
- epoch seconds or milliseconds as an int, a float or a numeric string (a magnitude of
  10^11 or more is read as milliseconds: 10^11 seconds is the year 5138);
- a ``datetime`` or ``date`` object (naive means UTC).

Fractions of a second are dropped (floored), so an instant maps to the epoch second it lies in.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

__all__ = [
    "DATE_PREFIX",
    "as_date_value",
    "is_date_string",
    "looks_like_date",
    "to_epoch_seconds",
]

DATE_PREFIX = "$D_"
"""CleverTap's marker for a date-valued property: ``"$D_<epoch seconds>"``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECONDS_FROM = 10**11
_SECOND = timedelta(seconds=1)

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
_ZONE = r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)"
_ISO_DATE = re.compile(rf"^{_DATE}$")
_ISO_DATETIME = re.compile(rf"^(?P<date>{_DATE})[T ](?P<time>{_TIME})(?P<zone>{_ZONE})?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_CLEVERTAP_DATE = re.compile(r"^\$D_-?\d+$")


def is_date_string(value: str) -> bool:
    """Whether ``value`` is an ISO date or date-time (the forms this module reads), not a number."""
    text = value.strip()
    if len(text) < 10 or text[4] != "-":  # both forms start with YYYY-: most values stop here
        return False
    if _ISO_DATE.match(text):
        return _parse_iso(text) is not None
    if _ISO_DATETIME.match(text):
        return _parse_iso(text) is not None
    return False


def looks_like_date(value: object) -> bool:
    """Whether a property value should be sent as a CleverTap date without being named as one."""
    return isinstance(value, str) and is_date_string(value)


def to_epoch_seconds(value: object) -> int:
    """The integer epoch second of ``value`` (any accepted form); ``ValueError`` if none."""
    # The usual case, a Salesforce or ISO date-time: one pattern check and one parse.
    if type(value) is str and len(value) > 10 and value[4] == "-" and _ISO_DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass  # a form Python does not read as it is: the general path below
        else:
            if moment.tzinfo is not None and not moment.microsecond:
                # A whole second with an offset: timestamp() is exact (far below 2**53).
                return int(moment.timestamp())
            return _datetime_seconds(moment)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date, a date-time or an epoch time")
    if isinstance(value, datetime):
        return _datetime_seconds(value)
    if isinstance(value, date):
        return _datetime_seconds(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, int):
        return _number_seconds(Decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a date, a date-time or an epoch time")
        return _number_seconds(Decimal(repr(value)))
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10 and text[4] == "-" and text[:4].isdigit():  # ISO: no number is
            parsed = _parse_iso(text)
            if parsed is not None:
                return _datetime_seconds(parsed)
        elif _CLEVERTAP_DATE.match(text):
            return int(text[len(DATE_PREFIX) :])
        if _NUMBER.match(text):
            try:
                return _number_seconds(Decimal(text))
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                pass
        parsed = _parse_iso(text)
        if parsed is not None:
            return _datetime_seconds(parsed)
    raise ValueError(
        f"{value!r} is not a date, a date-time (ISO 8601 or Salesforce) or an epoch time"
    )


def as_date_value(value: object) -> str:
    """``value`` in CleverTap's date form, ``"$D_<epoch seconds>"``; ``ValueError`` if no time."""
    return f"{DATE_PREFIX}{to_epoch_seconds(value)}"


def _number_seconds(number: Decimal) -> int:
    if abs(number) >= _MILLISECONDS_FROM:
        number = number / 1000
    return math.floor(number)


def _datetime_seconds(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _SECOND


def _parse_iso(text: str) -> datetime | None:
    if _ISO_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    match = _ISO_DATETIME.match(text)
    if match is None:
        return None
    try:  # Python reads most of these forms as they are, Salesforce's +0000 included
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    zone = match.group("zone") or ""
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif zone and ":" not in zone:
        # Salesforce writes +0000; Python 3.11 reads +00:00 (and +00 as +00:00).
        zone = f"{zone[:3]}:{zone[3:]}" if len(zone) == 5 else f"{zone}:00"
    time = match.group("time").replace(",", ".")
    if "." in time:
        whole, fraction = time.split(".", 1)
        time = f"{whole}.{fraction[:6].ljust(6, '0')}"
    try:
        return datetime.fromisoformat(f"{match.group('date')}T{time}{zone}")
    except ValueError:
        return None
