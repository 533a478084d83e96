"""Building SOQL safely: identifiers checked, literals escaped, keyset conditions for polling.

Nothing a zap writes reaches a query unchecked: field and object names must match
:data:`FIELD_PATTERN` (identifiers, dotted for relationships), and every value goes
through :func:`literal`, which quotes and escapes strings the way SOQL expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "FIELD_PATTERN",
    "OBJECT_PATTERN",
    "after_keyset",
    "build_select",
    "check_field_name",
    "check_object_name",
    "datetime_literal",
    "equality_conditions",
    "escape_string",
    "literal",
    "parse_datetime",
]

FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
"""A field name, or a dotted relationship path (``Owner.Name``)."""

OBJECT_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""An sObject API name (``Contact``, ``Invoice__c``)."""

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}

_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_field_name(name: str) -> str:
    """Return ``name`` if it is a field name or dotted path; raise ``ValueError`` otherwise."""
    if not isinstance(name, str) or not FIELD_PATTERN.match(name):
        raise ValueError(f"{name!r} is not a valid Salesforce field name")
    return name


def check_object_name(name: str) -> str:
    """Return ``name`` if it is an sObject API name; raise ``ValueError`` otherwise."""
    if not isinstance(name, str) or not OBJECT_PATTERN.match(name):
        raise ValueError(f"{name!r} is not a valid Salesforce object name")
    return name


def escape_string(value: str) -> str:
    """Escape a string for use inside a single-quoted SOQL literal (without the quotes)."""
    return "".join(_ESCAPES.get(char, char) for char in value)


def parse_datetime(value: str | datetime) -> datetime:
    """Parse a Salesforce date-time (``2026-05-08T21:20:00.000+0000``, ``…Z``) as aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        elif re.search(r"[+-]\d{4}$", text):
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def datetime_literal(value: datetime) -> str:
    """A SOQL date-time literal in UTC (unquoted), with milliseconds only when they are not zero."""
    value = parse_datetime(value)
    millis = value.microsecond // 1000
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def literal(value: Any, field_type: str | None = None) -> str:
    """The SOQL literal for ``value``; ``field_type`` (from describe) picks date forms.

    Strings are single-quoted and escaped; booleans are ``TRUE``/``FALSE``; ``None`` is
    ``null``; numbers are written as numbers. For ``date``/``datetime`` fields a string
    must be an ISO date or date-time and is written unquoted, as SOQL requires.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a number in a condition must be finite")
        return repr(value)
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if field_type == "datetime":
            try:
                return datetime_literal(parse_datetime(value))
            except ValueError:
                raise ValueError(f"{value!r} is not a date-time") from None
        if field_type == "date":
            if not _DATE_PATTERN.match(value):
                raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
            date.fromisoformat(value)
            return value
        return f"'{escape_string(value)}'"
    raise ValueError(f"{type(value).__name__} values cannot be used in a condition")


def equality_conditions(
    where: Mapping[str, Any], field_types: Mapping[str, str] | None = None
) -> list[str]:
    """One SOQL condition per ``field → value`` (a list value means ``IN``), names checked."""
    types = {name.lower(): kind for name, kind in (field_types or {}).items()}
    conditions = []
    for name, value in where.items():
        check_field_name(name)
        kind = types.get(name.lower())
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError(f"the list of values for {name} is empty")
            values = ", ".join(literal(item, kind) for item in value)
            conditions.append(f"{name} IN ({values})")
        else:
            conditions.append(f"{name} = {literal(value, kind)}")
    return conditions


def after_keyset(ts_field: str, ts: datetime, record_id: str | None) -> str:
    """The condition "strictly after (ts, id)" in ``ORDER BY ts_field, Id`` order.

    Without an id it means "at or after ts" (every Id sorts after an empty one).
    """
    check_field_name(ts_field)
    stamp = datetime_literal(ts)
    if not record_id:
        return f"{ts_field} >= {stamp}"
    quoted = literal(record_id)
    return f"({ts_field} > {stamp} OR ({ts_field} = {stamp} AND Id > {quoted}))"


def build_select(
    object_name: str,
    fields: Sequence[str],
    conditions: Iterable[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """A ``SELECT`` query; ``conditions`` (already built by this module) are joined with AND."""
    check_object_name(object_name)
    for name in fields:
        check_field_name(name)
    query = f"SELECT {', '.join(fields)} FROM {object_name}"
    parts = list(conditions)
    if parts:
        query += " WHERE " + " AND ".join(parts)
    if order_by:
        query += " ORDER BY " + ", ".join(order_by)
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query
