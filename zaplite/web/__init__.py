"""The daemon's HTTP server: the console, ``/metrics``, ``/healthz``, ``/readyz`` and plugin routes.

:func:`~zaplite.web.server.serve` runs it beside a daemon (``zaplite run --http``) or
alone (``zaplite console``); :func:`~zaplite.web.app.create_app` builds the starlette
application for a :class:`~zaplite.web.context.ServerContext`.
"""

from __future__ import annotations

from zaplite.web.app import create_app
from zaplite.web.context import ServerContext
from zaplite.web.server import check_listen, serve

__all__ = ["ServerContext", "check_listen", "create_app", "serve"]
