"""Fixtures for the end-to-end tests: both emulators in this process, the CLI in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zaplite.examples import copy_example_zaps
from zaplite.sandbox.session import Sandbox


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


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Both emulators with seeded data, on free loopback ports."""
    with Sandbox.start(salesforce_port=0, clevertap_port=0) as box:
        yield box


@pytest.fixture
def cli(tmp_path: Path, sandbox: Sandbox) -> Cli:
    """A project folder with a config for the sandbox and the example zaps."""
    root = tmp_path / "project"
    sandbox.write_config(root)
    copy_example_zaps(root / "zaps")
    return Cli(root)
