"""Sending upload records: batching and partial failures across several requests.

``upload(client, records)`` sends the records in requests of at most
``batch_size``, at most ``max_concurrency`` of them in flight at once (the client's
semaphore, held by each HTTP attempt in :mod:`~zaplite_clevertap.transport`), and
returns one :class:`~zaplite.Success` or :class:`~zaplite.Failure` per record, in
order (see :mod:`~zaplite_clevertap.unprocessed`).

A request refused for its content (a 400: a permanent error) fails only its own
records, with CleverTap's message, so they can be fixed and replayed. Any other error
of any request (authentication, or a transient fault that outlasted the retries) is
raised once every request has finished, so the engine leaves the page unrecorded and
polls it again: an outage never turns records into failed tasks. The requests that
did succeed are then sent again with the page, which the engine's promise allows
(at most the page in flight twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from zaplite import Failure
from zaplite.errors import PermanentError
from zaplite_clevertap.connection import CleverTapClient
from zaplite_clevertap.transport import post_upload
from zaplite_clevertap.unprocessed import Outcome, map_unprocessed

__all__ = ["Outcome", "upload"]


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
        if not isinstance(error, PermanentError):
            raise error
    outcomes: list[Outcome] = []
    for chunk, result in zip(chunks, results, strict=True):
        if isinstance(result, PermanentError):
            outcomes.extend(Failure(message=str(result), code=result.code) for _ in chunk)
        else:
            outcomes.extend(result)  # type: ignore[arg-type]
    return outcomes


async def _send_chunk(client: CleverTapClient, chunk: list[dict[str, Any]]) -> list[Outcome]:
    body = await post_upload(client, {"d": chunk})
    return map_unprocessed(chunk, body)
