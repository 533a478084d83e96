"""The ``zaplite`` command line: thin drivers of the workspace, the engine and the daemon."""

from __future__ import annotations

from zaplite.cli.main import cli, main

__all__ = ["cli", "main"]
