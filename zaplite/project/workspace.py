"""Everything a command works on: the config, the plugins' apps, the zaps and the store.

The CLI, the daemon and the test kit build a :class:`Workspace` and hand it to the
engine (:meth:`zaplite.engine.run.Engine.for_workspace`); nothing here talks to a service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from zaplite.errors import FileError, UsageError
from zaplite.plugin.manager import Registry, build_registry, get_plugin_manager
from zaplite.project.binding import BoundZap, bind_zap
from zaplite.project.config import Config, find_config, load_config
from zaplite.project.vault import Vault
from zaplite.project.zapfile import load_zaps
from zaplite.store import Store

__all__ = ["Workspace", "plugin_manager"]


@dataclass
class Workspace:
    """The loaded config, registry and zaps (valid ones bound, broken ones reported)."""

    config: Config
    registry: Registry
    zaps: dict[str, BoundZap] = field(default_factory=dict)
    problems: list[FileError] = field(default_factory=list)
    new_store: bool = False
    """Whether a missing SQLite store may be created where a store existed (``--new-store``)."""
    _store: Store | None = None
    _vault: Vault | None = None

    @classmethod
    def load(
        cls,
        config_path: Path | None = None,
        *,
        zaps_dir: Path | None = None,
        plugins_dir: Path | None = None,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
        cwd: Path | None = None,
        registry: Registry | None = None,
    ) -> Workspace:
        """Read the config (``--config`` / ``ZAPLITE_CONFIG`` / ``./zaplite.toml``), plugins and zaps.

        The plugins are those :func:`plugin_manager` loads: the installed ones (unless
        ``entry_points`` is false), a plugins folder and the given plugin objects.
        """
        config = load_config(find_config(config_path, cwd=cwd), cwd=cwd)
        if zaps_dir is not None:
            settings = dataclasses.replace(config.settings, zaps_dir=zaps_dir.resolve())
            config = dataclasses.replace(config, settings=settings)
        registry = registry or build_registry(
            _plugin_manager(config, plugins_dir, plugins=plugins, entry_points=entry_points)
        )
        workspace = cls(config=config, registry=registry)
        workspace.reload_zaps()
        return workspace

    def reload_zaps(self) -> tuple[dict[str, BoundZap], list[FileError]]:
        """Read and bind every zap file again; returns the bound zaps and the broken files."""
        zaps, problems = load_zaps(self.config.settings.zaps_dir)
        bound: dict[str, BoundZap] = {}
        for zap in zaps:
            try:
                bound[zap.id] = bind_zap(zap, self.registry, self.config)
            except FileError as error:
                problems.append(error)
        self.zaps, self.problems = bound, problems
        return bound, problems

    def zap(self, zap_id: str) -> BoundZap:
        """The bound zap ``zap_id``, or a clear error (naming the file's problem if it is broken)."""
        if zap_id in self.zaps:
            return self.zaps[zap_id]
        for problem in self.problems:
            if problem.file and Path(problem.file).stem == zap_id:
                raise UsageError(f"The zap {zap_id!r} cannot be used: {problem}")
        known = ", ".join(sorted(self.zaps)) or "none"
        raise UsageError(
            f"There is no zap {zap_id!r} in {self.config.settings.zaps_dir} (zaps: {known})."
        )

    def check_connections(self, zaps: Iterable[BoundZap]) -> None:
        """Resolve and validate the settings of every connection ``zaps`` use, in config order.

        Raises the first :class:`FileError` (an unset ``${VAR}``, a wrong setting): a
        command that is about to run these zaps says so at start-up, not at every tick.
        """
        from zaplite.project.connections import Connections

        used: set[str] = set()
        for zap in zaps:
            used.update(name for name in [zap.connection] if name)
            used.update(step.connection for step in zap.steps if step.connection)
        connections = Connections(self.config, self.registry, vault=self.vault)
        for name in self.config.connections:
            if name in used:
                connections.settings(name)

    @property
    def store(self) -> Store:
        """The store, opened (and migrated) on first use."""
        if self._store is None:
            self._store = Store(self.config.store_url, new_store=self.new_store)
        return self._store

    @property
    def vault(self) -> Vault:
        """The credential vault in the workspace's store (opened when a secret is needed)."""
        if self._vault is None:
            self._vault = Vault(self.config, lambda: self.store)
        return self._vault

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            self._store.close()
            self._store = None


def plugin_manager(
    config_path: Path | None = None,
    *,
    plugins_dir: Path | None = None,
    plugins: Iterable[Any] = (),
    entry_points: bool = True,
) -> pluggy.PluginManager:
    """The plugin manager of the project at ``config_path``, with the plugins :meth:`Workspace.load` loads.

    The plugins folder is ``plugins_dir`` (``--plugins-dir``), else
    ``$ZAPLITE_PLUGINS_DIR``, else the config's ``[settings] plugins_dir``.
    """
    config = load_config(find_config(config_path))
    return _plugin_manager(config, plugins_dir, plugins=plugins, entry_points=entry_points)


def _plugin_manager(
    config: Config, plugins_dir: Path | None, *, plugins: Iterable[Any], entry_points: bool
) -> pluggy.PluginManager:
    return get_plugin_manager(
        plugins_dir,
        configured_dir=config.settings.plugins_dir,
        plugins=plugins,
        entry_points=entry_points,
    )
