"""Rendering a page: jinja2 with autoescaping on, the CSRF cookie, and the redactor over the result."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from zaplite import __version__
from zaplite.web.charts import hourly_bars, usage_bar
from zaplite.web.describe import ago, pretty_json, when
from zaplite.web.security import CSRF_COOKIE, csrf_token

__all__ = ["render"]

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("zaplite.web", "templates"),
    autoescape=True,  # every value from a record, a zap file or a service is text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(when=when, ago=ago, json=pretty_json)
_env.globals.update(hourly_bars=hourly_bars, usage_bar=usage_bar, version=__version__)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` with ``values``, every known secret masked."""
    context = request.app.state.zaplite
    token, new = csrf_token(request)
    html = _env.get_template(template).render(
        request=request,
        csrf=token,
        flash=request.query_params.get("done", "")[:300],
        console_only=context.daemon is None,
        **values,
    )
    response = HTMLResponse(context.redactor(html), status_code=status_code)
    if new:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
