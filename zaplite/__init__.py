"""zaplite: a self-hosted automation runner with pluggy plugins.

The plugin-author API is re-exported here: ``App``, the ``hookimpl`` marker, the
objects a trigger or action exchanges with the engine, and the typed errors.

Public besides this package: :mod:`zaplite.errors`, :mod:`zaplite.jsoncodec`,
:mod:`zaplite.tls`, :mod:`zaplite.httpresponses`, :mod:`zaplite.retry`,
:mod:`zaplite.testing` (the pytest plugin for plugin authors) and the emulators in
:mod:`zaplite.sandbox`. The other modules are zaplite's own and may change between
releases (ARCHITECTURE.md maps them).
"""

from __future__ import annotations

from zaplite.errors import (
    AuthError,
    FileError,
    ParamsRejected,
    PermanentError,
    PluginError,
    QuotaExceeded,
    RateLimited,
    RetryableError,
    ZapliteError,
)
from zaplite.plugin.api import (
    Action,
    ActionContext,
    ApiUse,
    App,
    Failure,
    HttpRoute,
    NoParams,
    Outcome,
    Page,
    PollContext,
    Record,
    Start,
    Success,
    Trigger,
    TriggerState,
)
from zaplite.plugin.hookspecs import hookimpl
from zaplite.plugin.secrets import KeptSecret

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionContext",
    "ApiUse",
    "App",
    "AuthError",
    "Failure",
    "FileError",
    "HttpRoute",
    "KeptSecret",
    "NoParams",
    "Outcome",
    "Page",
    "ParamsRejected",
    "PermanentError",
    "PluginError",
    "PollContext",
    "QuotaExceeded",
    "RateLimited",
    "Record",
    "RetryableError",
    "Start",
    "Success",
    "Trigger",
    "TriggerState",
    "ZapliteError",
    "__version__",
    "hookimpl",
]
