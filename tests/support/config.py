"""Writing ``zaplite.toml`` from Python values, for tests that build a project by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["toml_value", "write_config"]


def toml_value(value: Any) -> str:
    """``value`` written as a TOML value (JSON's string escapes are TOML's too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    return json.dumps(str(value))


def write_config(
    root: Path, tables: dict[str, dict[str, Any]], *, store_url: str | None = "sqlite:///zaplite.db"
) -> Path:
    """Write ``root/zaplite.toml``: ``[store]`` (unless ``store_url`` is None), then ``tables``."""
    lines = [] if store_url is None else [f"[store]\nurl = {toml_value(store_url)}\n"]
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(key)} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path = root / "zaplite.toml"
    path.write_text("\n".join(lines))
    return path
