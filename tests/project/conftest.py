"""Fixtures of the project tests: writing zap files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def write_zap(tmp_path: Path):
    """Write a zap (a dict, or raw text) to ``tmp_path/zaps/<name>`` and return the path."""
    folder = tmp_path / "zaps"
    folder.mkdir(exist_ok=True)

    def write(content: Any, name: str = "zap.json") -> Path:
        path = folder / name
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    return write
