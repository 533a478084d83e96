"""Shaping Salesforce records into the records a trigger yields."""

from __future__ import annotations

from typing import Any

__all__ = ["clean_record", "get_path"]


def clean_record(value: Any) -> Any:
    """``value`` with every ``attributes`` key removed, at any depth; relationships stay nested."""
    if isinstance(value, dict):
        cleaned = {key: item for key, item in value.items() if key != "attributes"}
        for key, item in cleaned.items():
            if type(item) is dict or type(item) is list:  # relationships, compound fields
                cleaned[key] = clean_record(item)
        return cleaned
    if isinstance(value, list):
        return [clean_record(item) for item in value]
    return value


def get_path(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``Owner.Name``), or ``None`` where a part is missing."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
