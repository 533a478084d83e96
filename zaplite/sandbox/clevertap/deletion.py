"""Profile deletion: ``POST /1/delete/profiles.json`` with ``identity`` or ``guid``, one or a list.

The real API takes ``{"identity": "x"}``, ``{"identity": ["a", "b"]}`` (at most 100)
or ``{"guid": [...]}`` (CleverTap's own ids, at most 100). Deleting a profile the
account does not have is not an error: the answer is the same ``success``, as a
repeated delete must be harmless.
"""

from __future__ import annotations

from typing import Any

from zaplite.sandbox.clevertap.responses import error_body

__all__ = ["MAX_DELETE_IDS", "parse_delete"]

MAX_DELETE_IDS = 100
"""Identities (or guids) one delete request may name."""


def parse_delete(body: Any) -> tuple[list[str], list[str]] | dict[str, Any]:
    """``(identities, guids)`` of a delete request body, or the 400 error body saying why not."""
    if not isinstance(body, dict) or not ({"identity", "guid"} & body.keys()):
        return error_body(
            400, "Malformed request: the body must be a JSON object with 'identity' or 'guid'."
        )
    found: dict[str, list[str]] = {}
    for name in ("identity", "guid"):
        value = body.get(name)
        if value is None:
            found[name] = []
            continue
        values = value if isinstance(value, list) else [value]
        if not values or any(not isinstance(v, str | int) or str(v) == "" for v in values):
            return error_body(400, f"Malformed request: '{name}' must be a non-empty string.")
        if len(values) > MAX_DELETE_IDS:
            return error_body(
                400,
                f"Too many ids in the request: {len(values)} sent, "
                f"at most {MAX_DELETE_IDS} are allowed per request.",
            )
        found[name] = [str(v) for v in values]
    return found["identity"], found["guid"]
