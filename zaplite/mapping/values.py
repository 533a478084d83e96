"""Reading values in records: date-times and dates written as text.

Salesforce writes ``2026-05-08T21:20:00.000+0000``; zap files and other services write
ISO-8601. Filters compare such values as instants, and never raise on one that is not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

__all__ = ["parse_instant"]

_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_instant(value: object) -> datetime | None:
    """Return an aware datetime for a date-time or date written as text, or ``None``.

    Accepts ISO-8601 (``2026-05-08T21:20:00Z``, ``...+02:00``), Salesforce's
    ``2026-05-08T21:20:00.000+0000``, dates (``2026-05-08``, midnight) and ``datetime``
    / ``date`` objects. Times without an offset are taken as UTC. Numbers are not
    instants here (an epoch number would be ambiguous against plain numbers).
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not _DATE_START.match(text):
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
