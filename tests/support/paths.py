"""Where things are in the repository, for tests that run scripts or read shipped files."""

from __future__ import annotations

from pathlib import Path

__all__ = ["BENCH", "PLUGINS_DIR", "REPO", "ZAPS"]

REPO = Path(__file__).resolve().parents[2]
"""The repository's root folder."""

ZAPS = REPO / "zaps"
"""The example zaps zaplite ships (``zaplite init`` and ``zaplite demo`` copy these)."""

BENCH = REPO / "bench"
"""The benchmark scripts."""

PLUGINS_DIR = Path(__file__).resolve().parent / "plugins_dir"
"""A plugins dir (``ZAPLITE_PLUGINS_DIR``) holding the ``files`` app, for tests in subprocesses."""
