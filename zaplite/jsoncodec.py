"""Fast JSON for the hot path: orjson where it can, the standard library where it cannot.

Pages of Salesforce records, CleverTap uploads and the store's history rows are
encoded and decoded once per record, so the codec is a large share of a backlog's
CPU. orjson does the same work several times faster. It refuses a few things the
standard library accepts (integers beyond 64 bits, non-string dict keys); those
values fall back to :mod:`json`, so every value the standard library encodes
still encodes, to equivalent JSON. Plugins may use these functions too.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "dumps_bytes", "loads"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_bytes(value: Any) -> bytes:
    """``value`` as UTF-8 JSON bytes.

    Raises ``TypeError`` for what JSON cannot carry (a ``datetime``, any object).
    NaN and the infinities are written as ``null``, as JavaScript's
    ``JSON.stringify`` writes them, rather than as invalid JSON.
    """
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value).encode("utf-8")


def dumps(value: Any) -> str:
    """``value`` as JSON text (see :func:`dumps_bytes`)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)


def loads(data: bytes | str) -> Any:
    """Parse JSON text or bytes; ``ValueError`` when it is not JSON."""
    return orjson.loads(data)
