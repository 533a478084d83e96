"""Test helpers for plugin authors, registered as a pytest plugin (``pytest11``).

Fixtures:

- ``zaplite_project``: a :class:`ZapliteProject` in a temporary folder: add
  connections and zaps, register your plugin objects, run zaps once, read the store,
  run ``zaplite`` commands in-process (they see the plugins you registered).
- ``zaplite_store``: a fresh SQLite :class:`~zaplite.store.Store` in a temporary folder.
- ``zaplite_postgres_url``: the URL of a new, empty PostgreSQL database on the server
  named by ``ZAPLITE_TEST_POSTGRES_URL``, dropped after the test; the test is skipped,
  with that reason shown, when the variable is unset.

Example::

    def test_my_trigger(zaplite_project):
        zaplite_project.use_plugins(my_plugin)
        zaplite_project.add_zap({"id": "z", "trigger": {...}, "steps": [...]})
        [result] = zaplite_project.run_once("z")
        assert result.delivered == 3
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from zaplite.engine.replay import replay_task
from zaplite.engine.run import Engine

if TYPE_CHECKING:
    import click.testing

__all__ = [
    "ZapliteProject",
    "logging_restored",
    "zaplite_postgres_url",
    "zaplite_project",
    "zaplite_store",
]

POSTGRES_ENV = "ZAPLITE_TEST_POSTGRES_URL"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    return json.dumps(str(value))


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Put logging back as it was after a command set it up for itself (so caplog still works).

    A ``zaplite`` command run in-process (click's ``CliRunner``) points the ``zaplite``
    logger at its own stderr handler and stops it propagating; without this, every later
    test in the session would see an empty ``caplog``.
    """
    from zaplite.cli.common import QUIET_LOGGERS

    own = logging.getLogger("zaplite")
    handlers, level, propagate = list(own.handlers), own.level, own.propagate
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        yield
    finally:
        for handler in own.handlers:
            if handler not in handlers:
                handler.close()
        own.handlers[:] = handlers
        own.setLevel(level)
        own.propagate = propagate
        for name, quiet_level in levels.items():
            logging.getLogger(name).setLevel(quiet_level)


class ZapliteProject:
    """A zaplite project in a folder: ``zaplite.toml``, ``zaps/``, a SQLite store, chosen plugins.

    Retries are fast by default (``retry_initial_wait = 0.01``) so tests of transient
    faults do not sleep.
    """

    def __init__(self, root: Path, *, entry_points: bool = False) -> None:
        self.root = Path(root)
        self.zaps_dir = self.root / "zaps"
        self.zaps_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.root / "zaplite.toml"
        self.entry_points = entry_points
        self.plugins: list[Any] = []
        self.connections: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {
            "retry_attempts": 3,
            "retry_initial_wait": 0.01,
            "retry_max_wait": 0.05,
        }
        self.store_url = f"sqlite:///{self.root / 'zaplite.db'}"
        self._workspace: Any = None
        self.write_config()

    # -- writing the project
    def use_plugins(self, *plugins: Any) -> ZapliteProject:
        """Register these plugin objects (modules or instances with hookimpls)."""
        self.plugins.extend(plugins)
        self._forget()
        return self

    def add_connection(self, name: str, app: str, /, **settings: Any) -> ZapliteProject:
        """Add ``[connections.NAME]`` with ``app`` and the given settings."""
        self.connections[name] = {"app": app, **settings}
        self.write_config()
        return self

    def set(self, **settings: Any) -> ZapliteProject:
        """Set ``[settings]`` values (``retry_attempts``, ``pause_after_auth_failures``, ...)."""
        self.settings.update(settings)
        self.write_config()
        return self

    def write_config(self) -> Path:
        """Write ``zaplite.toml`` from the current connections and settings."""
        lines = ["[store]", f"url = {_toml_value(self.store_url)}", "", "[settings]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in self.settings.items()]
        for name, table in self.connections.items():
            lines += ["", f"[connections.{name}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self._forget()
        return self.config_path

    def add_zap(self, zap: dict[str, Any] | str, name: str | None = None) -> Path:
        """Write a zap file (a dict, or raw text for testing bad input) into ``zaps/``."""
        if isinstance(zap, dict):
            text = json.dumps(zap, indent=2)
            name = name or f"{zap.get('id', 'zap')}.json"
        else:
            text = zap
            name = name or "zap.json"
        path = self.zaps_dir / name
        path.write_text(text)
        self._forget()
        return path

    # -- using it
    def _forget(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    @property
    def workspace(self) -> Any:
        """The loaded :class:`~zaplite.project.workspace.Workspace` (reloaded after any change)."""
        if self._workspace is None:
            from zaplite.project.workspace import Workspace

            self._workspace = Workspace.load(
                self.config_path, plugins=self.plugins, entry_points=self.entry_points
            )
        return self._workspace

    @property
    def store(self) -> Any:
        """The project's store."""
        return self.workspace.store

    def run_once(self, *zap_ids: str) -> list[Any]:
        """Run the named zaps (or all enabled ones) once, like ``zaplite run --once``."""
        workspace = self.workspace
        zaps = [workspace.zap(z) for z in zap_ids] or [
            z for z in workspace.zaps.values() if z.zap.enabled
        ]

        async def go() -> list[Any]:
            engine = Engine.for_workspace(workspace)
            try:
                return [await engine.run_zap(zap) for zap in zaps]
            finally:
                await engine.connections.close()

        return asyncio.run(go())

    def replay(self, task_id: int, *, force: bool = False) -> str:
        """Replay one task; returns its new status (a task that succeeded needs ``force``)."""
        workspace = self.workspace

        async def go() -> str:
            engine = Engine.for_workspace(workspace)
            try:
                return await replay_task(engine, task_id, workspace.zaps, force=force)
            finally:
                await engine.connections.close()

        return asyncio.run(go())

    def tasks(self, **filters: Any) -> list[Any]:
        """Tasks from the store, newest first (``zap_id=``, ``status=``, ``limit=``)."""
        filters.setdefault("limit", 100_000)
        return self.store.list_tasks(**filters)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> click.testing.Result:
        """Run ``zaplite ARGS`` in this process, in the project folder, with the project's plugins.

        The command sees this project's config and the plugin objects given to
        :meth:`use_plugins` (and the installed plugins when the project loads them),
        so a test's plugin is found by the command line exactly as it would be when
        installed. ``env`` adds environment variables for the run. Returns click's
        result: ``exit_code``, ``stdout``, ``stderr`` (and ``exception`` when the
        command raised one).
        """
        from click.testing import CliRunner

        from zaplite.cli.main import cli
        from zaplite.cli.plugins import PluginChoice

        choice = PluginChoice(objects=tuple(self.plugins), entry_points=self.entry_points)
        environment = {"ZAPLITE_CONFIG": str(self.config_path), **(env or {})}
        with contextlib.chdir(self.root), logging_restored():
            return CliRunner().invoke(
                cli, list(args), env=environment, obj=choice, prog_name="zaplite"
            )

    def close(self) -> None:
        """Close the store."""
        self._forget()


@pytest.fixture
def zaplite_project(tmp_path: Path) -> Iterator[ZapliteProject]:
    """A temporary zaplite project (no installed plugins loaded unless you ask)."""
    project = ZapliteProject(tmp_path / "project")
    try:
        yield project
    finally:
        project.close()


@pytest.fixture
def zaplite_store(tmp_path: Path) -> Iterator[Any]:
    """A fresh SQLite store in a temporary folder."""
    from zaplite.store import Store

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def zaplite_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (``ZAPLITE_TEST_POSTGRES_URL``'s server), dropped after."""
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = os.environ.get(POSTGRES_ENV, "")
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped")
    url = make_url(server)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"zaplite_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
