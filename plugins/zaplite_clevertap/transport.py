"""One upload request over HTTP, with retries of transient faults and CleverTap's errors typed.

429, 5xx, timeouts and connection errors are retried with backoff (tenacity) within
the connection's ``retry_*`` bounds, honouring ``Retry-After``; a ``Retry-After``
longer than ``retry_max_wait`` is passed on to the engine at once. After that they
are raised as :class:`~zaplite.errors.RateLimited` (429) or
:class:`~zaplite.errors.RetryableError`. 401/403 raise :class:`~zaplite.errors.AuthError`
(naming the account and region, never the passcode), other 4xx
:class:`~zaplite.errors.PermanentError` with CleverTap's message.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from zaplite import jsoncodec
from zaplite.errors import AuthError, PermanentError, RateLimited, RetryableError
from zaplite.httpresponses import release
from zaplite_clevertap.connection import CleverTapClient, auth_message, service_error

__all__ = ["post_upload"]


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, message: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


async def post_upload(client: CleverTapClient, payload: dict[str, Any]) -> Any:
    """POST ``payload`` to ``/1/upload`` (retrying transient faults); CleverTap's JSON answer."""
    settings = client.settings
    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda error: _worth_waiting(error, settings.retry_max_wait)),
        stop=stop_after_attempt(settings.retry_attempts) | stop_after_delay(settings.retry_total),
        wait=_wait(client),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await _attempt(client, payload)
    except _Transient as error:
        if error.status == 429:
            raise RateLimited(str(error), code=429, retry_after=error.retry_after) from None
        raise RetryableError(str(error), code=error.status, retry_after=error.retry_after) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _worth_waiting(error: BaseException, longest: float) -> bool:
    """Retry here unless the service asked for a longer wait than ours: the engine then waits."""
    if not isinstance(error, _Transient):
        return False
    return error.retry_after is None or error.retry_after <= longest


def _wait(client: CleverTapClient) -> Any:
    settings = client.settings

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, settings.retry_max_wait)
        backoff = settings.retry_initial * 2 ** (state.attempt_number - 1)
        return min(backoff * (0.5 + random.random() / 2), settings.retry_max_wait)

    return wait


async def _attempt(client: CleverTapClient, payload: dict[str, Any]) -> Any:
    settings = client.settings
    content = jsoncodec.dumps_bytes(payload)
    try:
        async with client.semaphore:
            response = await client.http.post(
                client.upload_url, content=content, headers=client.headers()
            )
    except httpx.TimeoutException:
        raise _Transient(
            f"CleverTap did not answer within {settings.timeout:g} s for {settings.where}.",
            None,
            None,
        ) from None
    except httpx.TransportError as error:
        raise _Transient(
            f"could not reach CleverTap for {settings.where}: {type(error).__name__}.", None, None
        ) from None
    status = response.status_code
    if status == 429 or status >= 500:
        said = _scrub(service_error(response), client)
        raise _Transient(
            f"CleverTap answered HTTP {status} for {settings.where}"
            + (f": {said.rstrip('.')}." if said else "."),
            status,
            _retry_after(response),
        )
    if status in (401, 403):
        raise AuthError(_scrub(auth_message(settings, response), client), code=status)
    if status >= 400:
        said = _scrub(service_error(response), client) or f"HTTP {status}"
        raise PermanentError(f"CleverTap refused the upload: {said.rstrip('.')}.", code=status)
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
