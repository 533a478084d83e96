"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Cli:
    """Runs the installed ``zaplite`` command in a project folder."""

    root: Path

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("zaplite")
        assert exe, "the zaplite console script is not installed"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZAPLITE_")}
        env["COLUMNS"] = "200"
        return subprocess.run(
            [exe, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str) -> Any:
        out = self(*args, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
