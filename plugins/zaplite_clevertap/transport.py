"""One upload request over HTTP, with CleverTap's answers turned into typed errors.

429 is raised as :class:`~zaplite.errors.RateLimited` (with its ``Retry-After``), 5xx,
timeouts and connection errors as :class:`~zaplite.errors.RetryableError`: the engine
retries them by the user's one retry policy (``[settings] retry_*``), so nothing here
retries on its own. 401/403 raise :class:`~zaplite.errors.AuthError` (naming the
account and region, never the passcode), other 4xx :class:`~zaplite.errors.PermanentError`
with CleverTap's message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from zaplite import jsoncodec
from zaplite.errors import AuthError, PermanentError, RateLimited, RetryableError
from zaplite.httpresponses import release
from zaplite_clevertap.connection import CleverTapClient, auth_message, service_error

__all__ = ["post_json", "post_upload"]


async def post_upload(client: CleverTapClient, payload: dict[str, Any]) -> Any:
    """POST ``payload`` to ``/1/upload`` once; CleverTap's JSON answer, or a typed error."""
    return await post_json(client, client.upload_url, payload, "upload")


async def post_json(client: CleverTapClient, url: str, payload: dict[str, Any], what: str) -> Any:
    """POST ``payload`` to ``url`` once; CleverTap's JSON answer, or a typed error naming ``what``."""
    settings = client.settings
    content = jsoncodec.dumps_bytes(payload)
    try:
        async with client.semaphore:
            response = await client.http.post(url, content=content, headers=client.headers())
    except httpx.TimeoutException:
        raise RetryableError(
            f"CleverTap did not answer within {settings.timeout:g} s for {settings.where}.",
            code="timeout",
        ) from None
    except httpx.TransportError as error:
        raise RetryableError(
            f"could not reach CleverTap for {settings.where}: {type(error).__name__}.",
            code="connection",
        ) from None
    status = response.status_code
    if status == 429 or status >= 500:
        said = _scrub(service_error(response), client)
        message = f"CleverTap answered HTTP {status} for {settings.where}" + (
            f": {said.rstrip('.')}." if said else "."
        )
        kind = RateLimited if status == 429 else RetryableError
        release(response)
        raise kind(message, code=status, retry_after=_retry_after(response))
    if status in (401, 403):
        raise AuthError(_scrub(auth_message(settings, response), client), code=status)
    if status >= 400:
        said = _scrub(service_error(response), client) or f"HTTP {status}"
        raise PermanentError(f"CleverTap refused the {what}: {said.rstrip('.')}.", code=status)
    try:
        return jsoncodec.loads(response.content)
    except ValueError:
        raise PermanentError(
            f"CleverTap answered HTTP {status} without JSON for {settings.where}."
        ) from None
    finally:
        release(response)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _scrub(text: str, client: CleverTapClient) -> str:
    secret = client.settings.passcode.get_secret_value()
    return text.replace(secret, "****") if secret else text
