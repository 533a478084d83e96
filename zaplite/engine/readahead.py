"""Reading an async iterator one item ahead, so its I/O overlaps the consumer's work.

The engine polls a trigger page by page. With :func:`prefetch`, the trigger fetches
page N+1 while the engine delivers and records page N; the engine still takes the
pages one at a time, in order, and commits each before it delivers the next. At most
``depth`` pages wait in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")

_END = object()


async def prefetch(source: AsyncIterator[T], depth: int = 1) -> AsyncIterator[T]:
    """Yield what ``source`` yields, reading up to ``depth`` items ahead in a task.

    An exception from ``source`` is raised here when the consumer reaches it, after
    the items before it. Closing this iterator (or leaving the ``async for``) cancels
    the read ahead and closes ``source``.
    """
    queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue(maxsize=max(1, depth))
    closing = False

    async def produce() -> None:
        error: BaseException | None = None
        try:
            async for item in source:
                await queue.put((item, None))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, raised in its task
            # Cancelled inside a plain generator's thread, closing it raises instead.
            error = exc
        finally:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if not closing:  # nobody reads the queue any more: a put could wait forever
            await queue.put((_END, error))

    task = asyncio.create_task(produce())
    try:
        while True:
            item, error = await queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        closing = True
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this task is being cancelled too: that must go on
