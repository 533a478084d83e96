"""A project for the plugins-dir ``files`` app: records from ``source.json`` into ``sink.json``.

Files make the service visible across processes, so tests can drive the installed
``zaplite`` command in a subprocess (with ``ZAPLITE_PLUGINS_DIR`` set to
:data:`~tests.support.paths.PLUGINS_DIR`) and read what it delivered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.config import write_config

__all__ = ["files_project"]


def files_project(
    root: Path,
    records: list[dict[str, Any]],
    *,
    every: str = "1m",
    api_key: str = "k",
    params: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write the project at ``root`` with one zap, ``copy``, and the ``records`` to copy; returns root.

    ``params`` are the write step's (default: the email); ``settings`` is the ``[settings]`` table.
    """
    (root / "zaps").mkdir(parents=True)
    (root / "source.json").write_text(json.dumps(records))
    files = {"app": "files", "source": "source.json", "sink": "sink.json", "api_key": api_key}
    tables = (
        {"settings": settings, "connections.files": files}
        if settings
        else {"connections.files": files}
    )
    write_config(root, tables, store_url=None)
    zap = {
        "id": "copy",
        "schedule": {"every": every},
        "trigger": {"app": "files", "event": "new_line", "start": "all"},
        "steps": [
            {
                "id": "w",
                "app": "files",
                "action": "write",
                "params": params or {"email": "{{trigger.email}}"},
            }
        ],
    }
    (root / "zaps" / "copy.json").write_text(json.dumps(zap))
    return root
