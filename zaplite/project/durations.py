"""Durations ("30s", "5m", "1h30m") and ``trigger.start`` instants as users write them.

The parsers are strict about what they accept and raise :class:`ValueError` with a
reason that can be shown to a user as it is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from zaplite.mapping.values import parse_instant

__all__ = ["format_duration", "parse_duration", "parse_start_instant"]

_UNIT_SECONDS: dict[str, float] = {
    "w": 604800,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0.001,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|w|d|h|m|s)\s*)+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ISO = re.compile(
    r"p(?:(\d+(?:\.\d+)?)w)?(?:(\d+(?:\.\d+)?)d)?"
    r"(?:t(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?)?"
)
_HINT = 'a duration such as "30s", "5m", "1h", "1d" or "1h30m"'


def parse_duration(value: str | float | timedelta) -> timedelta:
    """Parse ``"30s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"1h30m"`` (or a number of seconds).

    Units: ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``; parts may be combined and decimals
    are allowed (``"1.5h"``). ISO-8601 durations without years or months (``"PT5M"``)
    are accepted too. Raises :class:`ValueError` with a readable reason.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected {_HINT}, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif text.startswith("p") and _ISO.fullmatch(text):
            seconds = _iso_seconds(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))
        else:
            raise ValueError(f'"{value}" is not {_HINT}')
    else:
        raise ValueError(f"expected {_HINT}")
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"expected {_HINT}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f'"{value}" is too long a duration') from None


def _iso_seconds(text: str) -> float:
    """Seconds of an ISO-8601 duration without years or months (``PT5M``, ``P1DT2H``)."""
    match = _ISO.fullmatch(text)
    if match is None or text in ("p", "pt") or text.endswith("t"):
        raise ValueError(f'"{text.upper()}" is not {_HINT}')
    sizes = (604800, 86400, 3600, 60, 1)
    return sum(float(part) * size for part, size in zip(match.groups(), sizes, strict=True) if part)


def format_duration(delta: timedelta) -> str:
    """Write ``delta`` the way users write durations: ``"1h30m"``, ``"45s"``, ``"1d"``."""
    total = delta.total_seconds()
    if total < 0:
        return "-" + format_duration(-delta)
    whole = int(total)
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        size = int(_UNIT_SECONDS[unit])
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    millis = round((total - int(total)) * 1000)
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts) or "0s"


def parse_start_instant(value: object) -> datetime:
    """Parse a ``trigger.start`` instant (ISO-8601; no offset means UTC), or raise ValueError."""
    moment = parse_instant(value)
    if moment is None:
        raise ValueError(
            'must be "now", "all" or an ISO-8601 date-time such as "2026-01-01T00:00:00Z"'
        )
    return moment
