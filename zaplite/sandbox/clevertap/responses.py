"""CleverTap-shaped response bodies: request-level errors and ``unprocessed`` entries."""

from __future__ import annotations

import json
from typing import Any, Literal

__all__ = [
    "UNPROCESSED_FORMS",
    "UnprocessedForm",
    "error_body",
    "record_as_string",
    "unprocessed_entry",
    "upload_result",
]

UnprocessedForm = Literal["string", "object", "mixed"]
UNPROCESSED_FORMS: tuple[str, ...] = ("string", "object", "mixed")

_DEFAULT_ERRORS: dict[int, str] = {
    400: "Bad Request",
    401: "Account ID is not valid",
    403: "Operation is not allowed",
    404: "Not Found",
    429: "Too many concurrent requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_body(status: int, error: str | None = None) -> dict[str, Any]:
    """``{"status": "fail", "error": ..., "code": status}``, the real service's error shape."""
    message = error or _DEFAULT_ERRORS.get(status, "Error")
    return {"status": "fail", "error": message, "code": status}


def record_as_string(record: Any) -> str:
    """``record`` as the real service echoes it in string form: JSON with spaced separators.

    The recorded form looks like ``{ "identity" : "" , "ts" : 1488804867 , ...}``; this is
    the same JSON (``json.loads`` gives the record back) with the same spacing style.
    """
    return json.dumps(record, separators=(" , ", " : "), ensure_ascii=False)


def unprocessed_entry(code: int, error: str, record: Any, as_string: bool) -> dict[str, Any]:
    """One ``unprocessed`` entry; ``record`` is echoed as a JSON string or as the object."""
    return {
        "status": "fail",
        "code": code,
        "error": error,
        "record": record_as_string(record) if as_string else record,
    }


def upload_result(processed: int, unprocessed: list[dict[str, Any]]) -> dict[str, Any]:
    """The upload response: status ``fail`` when records were sent but none was processed."""
    status = "fail" if processed == 0 and unprocessed else "success"
    return {"status": status, "processed": processed, "unprocessed": unprocessed}
