"""Sending upload records: batching, the per-account concurrency limit, retries, partial failures.

``upload(client, records)`` sends the records in requests of at most
``batch_size``, at most ``max_concurrency`` of them in flight at once, and returns
one :class:`~zaplite.Success` or :class:`~zaplite.Failure` per record, in order.
Each ``unprocessed`` entry of CleverTap's answer is mapped back to its own record by
its "Skipped record number : N" (1-based within that request), or, when the number
is missing, by matching the record it quotes; exactly those records fail.

Whole-request errors: 429, 5xx, timeouts and connection errors are retried with
backoff (``Retry-After`` honoured; one longer than ``retry_max_wait`` is passed on to
the engine at once, with ``retry_after`` set) within the connection's ``retry_*`` bounds and
then raised as :class:`~zaplite.errors.RateLimited` / :class:`~zaplite.errors.RetryableError`;
401/403 raise :class:`~zaplite.errors.AuthError`, other 4xx :class:`~zaplite.errors.PermanentError`.
When every request of a call fails that way the error is raised, so the engine can
retry or pause; when some requests succeeded, the records of the failed ones get a
``Failure`` with the error's message instead, so the delivered ones are not sent twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Sequence
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

from zaplite import Failure, Success
from zaplite.errors import AuthError, PermanentError, PluginError, RateLimited, RetryableError
from zaplite_clevertap.connection import CleverTapClient, auth_message, service_error

__all__ = ["Outcome", "map_unprocessed", "upload"]

Outcome = Success | Failure
_SKIPPED = re.compile(r"Skipped record number\s*:\s*(\d+)", re.IGNORECASE)
_MATCH_KEYS = ("identity", "objectId", "type", "evtName", "ts")
log = logging.getLogger("zaplite.clevertap")


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, message: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


async def upload(client: CleverTapClient, records: Sequence[dict[str, Any]]) -> list[Outcome]:
    """Send ``records`` and return one outcome per record, in order."""
    size = client.settings.batch_size
    chunks = [list(records[start : start + size]) for start in range(0, len(records), size)]
    results = await asyncio.gather(
        *(_send_chunk(client, chunk) for chunk in chunks), return_exceptions=True
    )
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors and len(errors) == len(results):
        raise errors[0]
    for error in errors:
        if not isinstance(error, PluginError):
            raise error
    outcomes: list[Outcome] = []
    for chunk, result in zip(chunks, results, strict=True):
        if isinstance(result, PluginError):
            outcomes.extend(Failure(message=str(result), code=result.code) for _ in chunk)
        else:
            outcomes.extend(result)  # type: ignore[arg-type]
    return outcomes


async def _send_chunk(client: CleverTapClient, chunk: list[dict[str, Any]]) -> list[Outcome]:
    body = await _post(client, {"d": chunk})
    return map_unprocessed(chunk, body)


def map_unprocessed(sent: list[dict[str, Any]], body: Any) -> list[Outcome]:
    """Outcomes for the records of one request, given CleverTap's JSON answer to it."""
    if not isinstance(body, dict):
        raise PermanentError(f"CleverTap answered the upload with unexpected JSON: {body!r:.200}")
    entries = body.get("unprocessed") or []
    failures: dict[int, Failure] = {}
    unmatched: list[tuple[dict[str, Any], Failure]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("error") or entry.get("status") or "record not processed")
        failure = Failure(message=message, code=entry.get("code"))
        number = _record_number(message)
        if number is not None and 1 <= number <= len(sent) and number - 1 not in failures:
            failures[number - 1] = failure
        else:
            unmatched.append((entry, failure))
    for entry, failure in unmatched:
        index = _find_record(sent, _quoted_record(entry.get("record")), failures)
        if index is None:
            log.warning("could not tell which record CleverTap skipped: %s", failure.message)
        else:
            failures[index] = failure
    if body.get("status") == "fail" and not failures:
        said = body.get("error") or "status fail"
        raise PermanentError(f"CleverTap refused the upload: {said}.", code=body.get("code"))
    return [failures.get(index) or _success(record) for index, record in enumerate(sent)]


def _success(record: dict[str, Any]) -> Success:
    output: dict[str, Any] = {"status": "success", "type": record.get("type")}
    for key in ("identity", "objectId", "ts", "evtName"):
        if key in record:
            output[key] = record[key]
    return Success(output=output)


def _record_number(message: str) -> int | None:
    match = _SKIPPED.search(message)
    return int(match.group(1)) if match else None


def _quoted_record(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _find_record(
    sent: list[dict[str, Any]], quoted: dict[str, Any] | None, taken: dict[int, Failure]
) -> int | None:
    if not quoted:
        return None
    keys = [key for key in _MATCH_KEYS if key in quoted]
    if not keys:
        return None
    for index, record in enumerate(sent):
        if index in taken:
            continue
        if all(_same(record.get(key), quoted[key]) for key in keys):
            return index
    return None


def _same(ours: Any, theirs: Any) -> bool:
    if ours is None:
        return theirs in (None, "")
    return ours == theirs or str(ours) == str(theirs)


async def _post(client: CleverTapClient, payload: dict[str, Any]) -> Any:
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
    content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
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
        return response.json()
    except ValueError:
        raise PermanentError(
            f"CleverTap answered HTTP {status} without JSON for {settings.where}."
        ) from None


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
