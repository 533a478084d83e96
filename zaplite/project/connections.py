"""The configured connections: settings validated by each app's model, clients opened once and shared."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from zaplite.errors import FileError, PluginError, ZapliteError
from zaplite.plugin.calls import call, describe_error
from zaplite.plugin.manager import Registry
from zaplite.plugin.secrets import KeptSecret, SecretSource
from zaplite.project.config import Config, ConnectionConfig
from zaplite.project.problems import explain
from zaplite.project.vault import Vault
from zaplite.retry import is_transient
from zaplite.store import Store

__all__ = ["Connections", "looks_secret", "mask_settings", "secret_fields"]

_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


class Connections:
    """Opens each configured connection at most once (on first use) and closes them all at the end."""

    def __init__(self, config: Config, registry: Registry, *, vault: Vault | None = None) -> None:
        self.config = config
        self.registry = registry
        self._open: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._own_store: Store | None = None
        self.vault = vault or Vault(config, self._store)
        """Where secrets missing from the config are looked up (the workspace's store's vault)."""

    def _store(self) -> Store:
        """A store of our own, for a vault nobody handed us (closed by :meth:`close`)."""
        if self._own_store is None:
            self._own_store = Store(self.config.store_url)
        return self._own_store

    def _file(self) -> str:
        return str(self.config.path) if self.config.path else "zaplite.toml"

    def entry(self, name: str) -> ConnectionConfig:
        """The ``[connections.NAME]`` table, or a clear error."""
        try:
            return self.config.connections[name]
        except KeyError:
            raise FileError(
                self._file(), f"connections.{name}", "no such connection is configured"
            ) from None

    def settings(self, name: str) -> BaseModel | None:
        """The connection's settings, ``${VAR}`` resolved and validated by its app's model."""
        entry = self.entry(name)
        try:
            app = self.registry.app(entry.app)
        except KeyError as error:
            raise FileError(self._file(), f"connections.{name}.app", str(error.args[0])) from None
        values = entry.resolve()
        if app.connection is None:
            return None
        values.update(self._kept_secrets(name, entry, values, app.connection))
        settings = self._validated(name, app.connection, values)
        for key, value in settings:
            if isinstance(value, Path) and not value.is_absolute():
                setattr(settings, key, (self.config.base_dir / value).resolve())
        return settings

    def _validated(self, name: str, model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
        """``values`` validated by the app's connection ``model``, or the error naming the setting.

        The error is about ``connections.NAME.<setting>``, and an unknown setting gets the
        nearest known one (as the config spells it: its alias, if it has one) suggested.
        """
        try:
            return model.model_validate(values)
        except ValidationError as error:
            raise explain(
                error,
                file=self._file(),
                prefix=f"connections.{name}",
                noun="setting",
                known_fields=lambda loc: (
                    None if loc else [info.alias or key for key, info in model.model_fields.items()]
                ),
            ) from None

    def _kept_secrets(
        self,
        name: str,
        entry: ConnectionConfig,
        values: dict[str, Any],
        model: type[BaseModel],
    ) -> dict[str, KeptSecret]:
        """Each secret setting as a :class:`KeptSecret`: from the config (env or file) or the vault."""
        kept: dict[str, KeptSecret] = {}
        for key in secret_fields(model):
            value = values.get(key)
            if key in entry.raw:
                if isinstance(value, str):
                    source, where = secret_source(entry, key, self._file())
                    kept[key] = KeptSecret(
                        value, connection=name, name=key, source=source, where=where
                    )
                continue
            stored = self.vault.get(name, key)
            if stored is not None:
                kept[key] = self.vault.kept(name, key, stored)
        return kept

    def sources(self, name: str) -> dict[str, str]:
        """Where each secret setting of connection ``name`` comes from: ``env``, ``vault`` or ``file``.

        Never reads a secret's value (no vault key is needed).
        """
        entry = self.entry(name)
        app = self.registry.apps.get(entry.app)
        keys = secret_fields(app.connection) if app and app.connection else set()
        found: dict[str, str] = {}
        for key in sorted(keys):
            if key in entry.raw:
                found[key] = secret_source(entry, key, self._file())[0]
        stored = set(self.vault.names(name))
        for key in sorted(keys & stored):
            if key not in found:
                found[key] = "vault"
        return found

    async def get(self, name: str | None) -> Any:
        """The open client of connection ``name`` (``None`` for apps that need no connection)."""
        if name is None:
            return None
        async with self._lock:
            if name not in self._open:
                entry = self.entry(name)
                app = self.registry.app(entry.app)
                settings = self.settings(name)
                try:
                    client = await call(app.connect, settings) if app.connect else settings
                except Exception as error:
                    if isinstance(error, ZapliteError) or is_transient(error):
                        raise
                    # A bug in the plugin's connect: name the plugin, not the zap's trigger.
                    plugin = self.registry.owners.get(entry.app, entry.app)
                    raise PluginError(
                        f"the plugin {plugin!r} failed to open the connection {name!r}: "
                        f"{describe_error(error)}"
                    ) from error
                self._open[name] = client
            return self._open[name]

    def opened(self, name: str) -> Any:
        """The client of connection ``name`` if it is open already, else ``None``."""
        return self._open.get(name)

    async def test(self, name: str) -> str:
        """Sign in with connection ``name`` through its app's test; returns what it reached."""
        entry = self.entry(name)
        app = self.registry.app(entry.app)
        try:
            client = await self.get(name)
            if app.test is None:
                return "settings are valid (this app has no sign-in test)"
            return str(await call(app.test, client))
        except ZapliteError:
            raise
        except Exception as error:
            plugin = self.registry.owners.get(entry.app)
            raise PluginError(
                f"the plugin {plugin!r} failed in the sign-in test: {describe_error(error)}"
            ) from error

    async def trial(self, name: str, app_name: str, values: dict[str, Any]) -> str:
        """Sign in with settings not saved anywhere yet (``zaplite connect``); what it reached.

        ``values`` are validated by the app's model as ``[connections.NAME]`` would be;
        the client is opened, tested and closed. Nothing is kept.
        """
        app = self.registry.app(app_name)
        if app.connection is None:
            return "this app needs no connection"
        settings = self._validated(name, app.connection, values)
        client = await call(app.connect, settings) if app.connect else settings
        try:
            if app.test is None:
                return "settings are valid (this app has no sign-in test)"
            return str(await call(app.test, client))
        finally:
            closer = getattr(client, "aclose", None) or getattr(client, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await call(closer)

    async def close(self) -> None:
        """Close every open client (``aclose()`` or ``close()``)."""
        clients, self._open = list(self._open.values()), {}
        for client in clients:
            closer = getattr(client, "aclose", None) or getattr(client, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await call(closer)
        if self._own_store is not None:
            self._own_store.close()
            self._own_store = None

    def masked(self, name: str) -> dict[str, Any]:
        """The connection's table as written, with every secret value masked."""
        entry = self.entry(name)
        app = self.registry.apps.get(entry.app)
        return mask_settings(entry.raw, app.connection if app else None)


def secret_fields(model: type[BaseModel]) -> set[str]:
    """The settings of ``model`` that are secrets (typed ``SecretStr``), by field name."""
    return {
        key
        for key, info in model.model_fields.items()
        if info.annotation is not None and "SecretStr" in repr(info.annotation)
    }


def secret_source(entry: ConnectionConfig, key: str, file: str) -> tuple[SecretSource, str]:
    """Where a secret written in the config comes from: ``("env", "${VAR}")`` or ``("file", path)``."""
    raw = entry.raw.get(key)
    if isinstance(raw, str) and "${" in raw:
        return "env", raw
    return "file", file


def mask_settings(raw: dict[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """``raw`` with secrets (fields typed ``SecretStr``) masked; ``${VAR}`` references shown as written."""
    secret_keys: set[str] = set()
    if model is not None:
        secret_keys = secret_fields(model)
        secret_keys |= {model.model_fields[key].alias or key for key in secret_keys}
    masked: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and _ENV_REF.match(value):
            masked[key] = value
        elif (
            key in secret_keys
            or isinstance(value, SecretStr)
            or (model is None and looks_secret(key))
        ):
            masked[key] = "****"
        else:
            masked[key] = value
    return masked


def looks_secret(key: str) -> bool:
    """Whether a setting named ``key`` holds a secret by its name (a secret, password, token...)."""
    return any(word in key.lower() for word in ("secret", "password", "passcode", "token", "key"))
