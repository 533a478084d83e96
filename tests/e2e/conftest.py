"""Fixtures for the end-to-end tests: both emulators in this process, the CLI in subprocesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from zaplite.project.examples import copy_example_zaps
from zaplite.sandbox.session import SANDBOX_OUTBOUND_TOKEN, Sandbox


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
    copy_example_zaps(root / "zaps", outbound_token=SANDBOX_OUTBOUND_TOKEN)
    return Cli(root)
