"""Finding plugins and collecting the apps they register.

The plugin manager is built by :func:`get_plugin_manager` (never at import time),
from the ``zaplite`` entry-point group (filtered by ``ZAPLITE_LOAD_PLUGINS``) and
the ``*.py`` files of a plugins folder. :func:`build_registry` then asks every
plugin for its apps and its HTTP routes and checks what it registered.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import importlib.util
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pluggy
from pydantic import BaseModel

from zaplite.errors import StartupError, UsageError
from zaplite.plugin import hookspecs
from zaplite.plugin.api import Action, App, HttpRoute, Trigger
from zaplite.plugin.calls import describe_error

__all__ = [
    "ENTRY_POINT_GROUP",
    "Registry",
    "build_registry",
    "get_plugin_manager",
    "load_registry",
]

ENTRY_POINT_GROUP = "zaplite"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_T = TypeVar("_T")


def get_plugin_manager(
    plugins_dir: Path | None = None,
    *,
    configured_dir: Path | None = None,
    plugins: Iterable[Any] = (),
    entry_points: bool = True,
    env: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """A fresh plugin manager with the installed plugins, a plugins folder and any given plugin objects.

    ``ZAPLITE_LOAD_PLUGINS`` (a comma-separated list of entry-point names) limits which
    installed plugins load; set to an empty string it loads none of them.
    The plugins folder is ``plugins_dir`` (``--plugins-dir``), else
    ``$ZAPLITE_PLUGINS_DIR``, else ``configured_dir`` (``[settings] plugins_dir``).

    Every problem is a :class:`StartupError` that names the plugin once, by the name
    it is registered under: its entry-point name, its file name without ``.py``, or
    (for a plugin object) its module's ``__name__`` or its class name.
    """
    env = os.environ if env is None else env
    pm = pluggy.PluginManager("zaplite")
    pm.add_hookspecs(hookspecs)
    if entry_points:
        allow = env.get("ZAPLITE_LOAD_PLUGINS")
        allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as error:
                raise StartupError(
                    f"The plugin {ep.name!r} could not be loaded: {describe_error(error)}."
                ) from error
            _register(pm, module, ep.name)
    folder = (
        plugins_dir
        or (Path(env["ZAPLITE_PLUGINS_DIR"]) if env.get("ZAPLITE_PLUGINS_DIR") else None)
        or configured_dir
    )
    if folder is not None:
        for module, name in _load_folder(folder):
            _register(pm, module, name)
    for plugin in plugins:
        _register(pm, plugin, _object_name(pm, plugin))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise _unknown_hook(pm, error) from error
    return pm


def _object_name(pm: pluggy.PluginManager, plugin: Any) -> str:
    """The name a plugin object is registered under: a module's name, else its class's."""
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    candidate, number = name, 1
    while pm.has_plugin(candidate) and pm.get_plugin(candidate) is not plugin:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise _invalid_hook(pm, name, error) from error
    except ValueError as error:
        if pm.get_plugin(name) is plugin:
            raise StartupError(f"The plugin {name!r} is given twice.") from error
        other = pm.get_name(plugin)
        if other is not None:
            raise StartupError(
                f"The plugin {name!r} is already loaded under the name {other!r}."
            ) from error
        raise StartupError(
            f"Two plugins are named {name!r}; each plugin needs a name of its own."
        ) from error


def _unknown_hook(pm: pluggy.PluginManager, error: pluggy.PluginValidationError) -> StartupError:
    """The error for a hook implementation no hookspec matches (a misspelt hook name)."""
    name = pm.get_name(error.plugin)
    known = sorted(
        hook
        for hook, caller in vars(pm.hook).items()
        if not hook.startswith("_") and caller.has_spec()
    )
    unknown = sorted(
        caller.name for caller in pm.get_hookcallers(error.plugin) or [] if not caller.has_spec()
    )
    hook = unknown[0] if unknown else "?"
    close = difflib.get_close_matches(hook, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"zaplite's hooks are {', '.join(known)}"
    return StartupError(
        f"The plugin {name!r} implements the hook {hook!r}, which zaplite does not have ({hint})."
    )


def _invalid_hook(
    pm: pluggy.PluginManager, name: str, error: pluggy.PluginValidationError
) -> StartupError:
    """pluggy's complaint about one hook implementation, naming the plugin once."""
    text = str(error)
    hook_match = re.search(r"hook '([^']+)'", text)
    hook = hook_match.group(1) if hook_match else "a hook"
    extra = re.search(r"Argument\(s\) \{(.*)\} are declared", text)
    if extra and hasattr(pm.hook, hook):
        takes = ", ".join(re.findall(r"'([^']+)'", extra.group(1)))
        passes = ", ".join(getattr(pm.hook, hook).spec.argnames) or "nothing"
        return StartupError(
            f"The plugin {name!r} implements {hook} with the argument(s) {takes}, "
            f"which zaplite does not pass (it passes {passes})."
        )
    reason = text.splitlines()[-1].rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return StartupError(f"The plugin {name!r} implements {hook} wrongly: {reason}.")


def _load_folder(folder: Path) -> Iterable[tuple[Any, str]]:
    if not folder.is_dir():
        if folder.exists():
            raise UsageError(f"{folder}: the plugins folder is not a folder.")
        raise UsageError(f"{folder}: the plugins folder does not exist.")
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        _check_regular(path)
        module_name = f"zaplite_plugins_dir.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise StartupError(
                f"The plugin {path.stem!r} could not be loaded from {folder}: "
                "it is not an importable Python file."
            )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            sys.modules.pop(module_name, None)
            raise StartupError(
                f"The plugin {path.stem!r} could not be loaded from {folder}: {describe_error(error)}."
            ) from error
        yield module, path.stem


def _check_regular(path: Path) -> None:
    """Refuse a plugin file that is not a regular file (or a link to one), before it is opened.

    Importing a named pipe waits for ever for a writer, and a device such as
    ``/dev/zero`` never ends; neither is a plugin anyone wrote.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a dangling link: the import says it cannot be loaded
    if stat.S_ISREG(mode):
        return
    kind = (
        "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a folder"
        if stat.S_ISDIR(mode)
        else "a device"
    )
    raise StartupError(
        f"{path}: the plugin {path.stem!r} is not a regular file but {kind}, so it is not loaded."
    )


@dataclass
class Registry:
    """The apps every plugin registered, by name, with the plugin that registered each."""

    apps: dict[str, App] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    routes: list[HttpRoute] = field(default_factory=list)
    """The HTTP routes plugins added to the daemon's server (``register_routes``)."""

    def app(self, name: str) -> App:
        """The app called ``name``; a clear error listing the known apps otherwise."""
        return _named(self.apps, name, f"unknown app {name!r}", "installed")

    def trigger(self, app: str, event: str) -> Trigger:
        """The trigger ``event`` of ``app``."""
        found = self.app(app).triggers
        return _named(found, event, f"app {app!r} has no trigger {event!r}", "it has")

    def action(self, app: str, name: str) -> Action:
        """The action ``name`` of ``app``."""
        found = self.app(app).actions
        return _named(found, name, f"app {app!r} has no action {name!r}", "it has")


def _named(items: Mapping[str, _T], name: str, missing: str, listed: str) -> _T:
    """``items[name]``; a ``KeyError`` saying ``missing`` and naming every key otherwise."""
    try:
        return items[name]
    except KeyError:
        known = ", ".join(sorted(items)) or "none"
        raise KeyError(f"{missing} ({listed}: {known})") from None


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every plugin's ``register_apps`` hook and check what it registered."""
    registry = Registry()
    for impl in pm.hook.register_apps.get_hookimpls():
        plugin = impl.plugin_name

        def register(app: Any, _plugin: str = plugin) -> None:
            _check_app(app, _plugin)
            if app.name in registry.apps:
                raise StartupError(
                    f"The plugin {_plugin!r} registers the app {app.name!r}, "
                    f"which the plugin {registry.owners[app.name]!r} already registered."
                )
            registry.apps[app.name] = app
            registry.owners[app.name] = _plugin

        _call_register_hook(impl, "register_apps", register)
    _collect_routes(pm, registry)
    return registry


def _collect_routes(pm: pluggy.PluginManager, registry: Registry) -> None:
    """Call every plugin's ``register_routes`` hook and check what it registered."""
    for impl in pm.hook.register_routes.get_hookimpls():
        plugin = impl.plugin_name

        def register(route: Any, _plugin: str = plugin) -> None:
            if not isinstance(route, HttpRoute):
                raise StartupError(
                    f"The plugin {_plugin!r} registered a route that is not a zaplite.HttpRoute "
                    f"({type(route).__name__})."
                )
            if not route.path.startswith("/hooks/") or not callable(route.endpoint):
                raise StartupError(
                    f"The plugin {_plugin!r} registered the route {route.path!r}: a route's "
                    "path must start with /hooks/ and its endpoint must be callable."
                )
            for other in registry.routes:
                if other.path == route.path and set(other.methods) & set(route.methods):
                    raise StartupError(
                        f"The plugin {_plugin!r} registers the route {route.path!r}, which the "
                        f"plugin {other.plugin!r} already registered."
                    )
            registry.routes.append(dataclasses.replace(route, plugin=_plugin))

        _call_register_hook(impl, "register_routes", register)


def _call_register_hook(impl: Any, hook: str, register: Any) -> None:
    """Call one plugin's ``register_*`` hook; its failure is a start-up error naming it."""
    try:
        impl.function(**({"register": register} if "register" in impl.argnames else {}))
    except StartupError:
        raise
    except Exception as error:
        raise StartupError(
            f"The plugin {impl.plugin_name!r} failed in {hook}: {describe_error(error)}."
        ) from error


def load_registry(plugins_dir: Path | None = None, **options: Any) -> Registry:
    """Plugin manager and registry in one step (``options`` as :func:`get_plugin_manager` takes them)."""
    return build_registry(get_plugin_manager(plugins_dir, **options))


def _check_app(app: Any, plugin: str) -> None:
    def bad(reason: str) -> StartupError:
        return _invalid_app(plugin, reason)

    if not isinstance(app, App):
        raise bad(f"register() takes a zaplite.App, not {type(app).__name__}")
    if not _NAME.match(app.name):
        raise bad(f"the app name {app.name!r} must be lower-case letters, digits and underscores")
    for model, what in [(app.connection, "connection model")]:
        if model is not None and not _is_model(model):
            raise bad(f"the {what} of app {app.name!r} is not a pydantic model")
    if app.connect is not None and not callable(app.connect):
        raise bad(f"connect of app {app.name!r} is not callable")
    for name, trigger in app.triggers.items():
        where = _check_step(app, name, trigger, Trigger, "poll", plugin)
        if not (isinstance(trigger.dedup_key, str | list | tuple) or callable(trigger.dedup_key)):
            raise bad(
                f"the dedup_key of {where} must be a field name, a list of names or a function"
            )
    for name, action in app.actions.items():
        where = _check_step(app, name, action, Action, "perform", plugin)
        if action.batch_size < 1:
            raise bad(f"the batch size of {where} must be at least 1")


def _check_step(app: App, name: str, step: Any, kind: type, function: str, plugin: str) -> str:
    """What a trigger and an action must both be; returns the words errors name ``step`` by.

    ``step`` is registered as ``name``, is a ``kind`` (:class:`Trigger` or :class:`Action`),
    and has a callable attribute ``function`` (``poll``, ``perform``) and a params model.
    """
    where = f"{kind.__name__.lower()} {app.name}.{name}"
    if not isinstance(step, kind) or step.name != name:
        raise _invalid_app(
            plugin, f"{where} is not a zaplite.{kind.__name__} registered under its own name"
        )
    if not callable(getattr(step, function)):
        raise _invalid_app(plugin, f"{where} has no {function} function")
    if not _is_model(step.params):
        raise _invalid_app(plugin, f"the params of {where} are not a pydantic model")
    return where


def _invalid_app(plugin: str, reason: str) -> StartupError:
    return StartupError(f"The plugin {plugin!r} registered an invalid app: {reason}.")


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)
