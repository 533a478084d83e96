"""Fixtures for the engine tests: a project with the in-memory test plugin registered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import memory_plugin
from zaplite.testing import ZapliteProject


@pytest.fixture
def service() -> Iterator[memory_plugin.MemoryService]:
    """The in-memory service the plugin's default connection talks to."""
    memory_plugin.reset()
    service = memory_plugin.SERVICES.setdefault("default", memory_plugin.MemoryService())
    yield service
    memory_plugin.reset()


@pytest.fixture
def project(zaplite_project: ZapliteProject, service: Any) -> ZapliteProject:
    """A project with the memory plugin and one memory connection."""
    zaplite_project.use_plugins(memory_plugin)
    zaplite_project.add_connection("mem", "memory", name="default")
    return zaplite_project
