"""A project for the plugins-dir ``files`` app: records from ``source.json`` into ``sink.json``.

Files make the service visible across processes, so tests can drive the installed
``zaplite`` command in a subprocess (with ``ZAPLITE_PLUGINS_DIR`` set to
:data:`~tests.support.paths.PLUGINS_DIR`) and read what it delivered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["files_project"]


def files_project(
    root: Path,
    records: list[dict[str, Any]],
    *,
    every: str = "1m",
    api_key: str = "k",
    params: dict[str, str] | None = None,
    settings: str = "",
) -> Path:
    """Write the project at ``root`` with one zap, ``copy``, and the ``records`` to copy; returns root.

    ``params`` are the write step's (default: the email); ``settings`` is a ``[settings]`` table.
    """
    (root / "zaps").mkdir(parents=True)
    (root / "source.json").write_text(json.dumps(records))
    (root / "zaplite.toml").write_text(
        settings
        + '[connections.files]\napp = "files"\nsource = "source.json"\nsink = "sink.json"\n'
        f'api_key = "{api_key}"\n'
    )
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
