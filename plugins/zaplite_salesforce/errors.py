"""Mapping Salesforce's error responses onto zaplite's typed errors.

Salesforce answers REST errors with a JSON array of ``{message, errorCode, fields?}``
and OAuth errors with ``{error, error_description}``. :func:`error_for_response`
turns either into the :mod:`zaplite.errors` class that tells the engine what to do.
"""

from __future__ import annotations

from typing import Any

import httpx

from zaplite.errors import (
    AuthError,
    ParamsRejected,
    PermanentError,
    PluginError,
    QuotaExceeded,
    RateLimited,
    RetryableError,
)

__all__ = [
    "CONFIGURATION_CODES",
    "QUOTA_RETRY_AFTER",
    "QueryLocatorExpired",
    "SessionExpired",
    "body_details",
    "error_details",
    "error_for_response",
    "error_for_status",
    "error_for_subrequest",
    "token_error",
]

CONFIGURATION_CODES = frozenset(
    {"INVALID_FIELD", "MALFORMED_QUERY", "INVALID_TYPE", "INVALID_QUERY_FILTER_OPERATOR"}
)
"""Error codes that mean the zap asks for something the org does not have."""

QUOTA_RETRY_AFTER = 3600.0
"""Seconds to wait before polling again once the daily API quota is spent."""


class SessionExpired(AuthError):
    """The access token was refused (401 ``INVALID_SESSION_ID``); renewed by the client."""


class QueryLocatorExpired(RetryableError):
    """A ``nextRecordsUrl`` cursor expired (``INVALID_QUERY_LOCATOR``); the poll restarts."""


def error_details(response: httpx.Response) -> tuple[str | None, str]:
    """The ``(errorCode, message)`` of an error response, whatever its shape."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if body is None:
        text = response.text.strip()
        if len(text) > 200 or text.startswith("<"):
            text = ""
        return None, text
    return body_details(body)


def body_details(body: Any) -> tuple[str | None, str]:
    """The ``(errorCode, message)`` of a parsed error body (a list of errors, or one object)."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        return _text(first.get("errorCode")), _text(first.get("message")) or ""
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("error_description") or ""
        return _text(code), _text(message) or ""
    if isinstance(body, str) and len(body) <= 200 and not body.startswith("<"):
        return None, body.strip()
    return None, ""


def error_for_response(response: httpx.Response, *, usage: str | None = None) -> PluginError:
    """The typed error for a failed REST (non-OAuth) response."""
    code, message = error_details(response)
    return error_for_status(
        response.status_code, code, message, usage=usage, retry_after=_retry_after(response)
    )


def error_for_subrequest(status: int, body: Any, *, usage: str | None = None) -> PluginError:
    """The typed error for a failed subrequest of a composite call, as if it were sent alone."""
    code, message = body_details(body)
    return error_for_status(status, code, message, usage=usage)


def error_for_status(
    status: int,
    code: str | None,
    message: str,
    *,
    usage: str | None = None,
    retry_after: float | None = None,
) -> PluginError:
    """The typed error for an HTTP status and Salesforce's ``errorCode`` and message."""
    said = _sentence(message) or f"HTTP {status}"
    if status == 401 or code == "INVALID_SESSION_ID":
        return SessionExpired(f"Salesforce refused the session: {said}", code=code or status)
    if code == "REQUEST_LIMIT_EXCEEDED":
        spent = f" ({usage})" if usage else ""
        return QuotaExceeded(
            f"The Salesforce org's daily API request quota is spent{spent}; "
            "polling pauses until it resets.",
            code=code,
            retry_after=QUOTA_RETRY_AFTER,
        )
    if code == "INVALID_QUERY_LOCATOR":
        return QueryLocatorExpired(f"Salesforce query cursor expired: {said}", code=code)
    if code in CONFIGURATION_CODES:
        return ParamsRejected(f"Salesforce rejected the query: {said}", code=code)
    if code == "QUERY_TIMEOUT":
        return RetryableError(f"Salesforce query timed out: {said}", code=code)
    if status == 429:
        return RateLimited(
            f"Salesforce asked to slow down: {said}",
            code=code or status,
            retry_after=retry_after,
        )
    if status >= 500:
        return RetryableError(
            f"Salesforce is unavailable (HTTP {status}): {said}", code=code or status
        )
    if status == 404 and code == "NOT_FOUND":
        return ParamsRejected(f"Salesforce has no such resource: {said}", code=code)
    return PermanentError(f"Salesforce refused the request (HTTP {status}): {said}", code=code)


def token_error(response: httpx.Response, grant: str, login_url: str) -> PluginError:
    """The typed error for a failed request to the OAuth token endpoint."""
    status = response.status_code
    code, message = error_details(response)
    said = _sentence(message) or code or f"HTTP {status}"
    if status >= 500:
        return RetryableError(
            f"The Salesforce sign-in service at {login_url} is unavailable (HTTP {status}).",
            code=code or status,
        )
    return AuthError(
        f"Salesforce refused the sign-in ({grant} grant at {login_url}): {said}",
        code=code or status,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _sentence(message: str) -> str:
    message = " ".join(message.split())
    if message and message[-1] not in ".!?":
        message += "."
    return message


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
