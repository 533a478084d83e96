"""Calling plugin functions that may be ``async def`` or plain, generators included.

Plain functions run in a worker thread, so a plugin that blocks never stalls the
scheduler or the other zaps.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["call", "describe_error", "iterate"]

_DONE = object()


def describe_error(error: BaseException) -> str:
    """What plugin code raised, for a message that names the plugin: ``ValueError: the reason``."""
    return f"{type(error).__name__}: {str(error).rstrip('.')}"


async def call(function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function(*args)``: awaited when it is a coroutine function, else in a worker thread."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    result = await asyncio.to_thread(function, *args)
    if inspect.isawaitable(result):
        return await result
    return result


async def iterate(function: Callable[..., Any], *args: Any) -> AsyncIterator[Any]:
    """Iterate what ``function(*args)`` yields, whether it is an async or a plain generator.

    A plain generator is advanced in a worker thread, one item at a time.
    """
    if inspect.isasyncgenfunction(function):
        agen = function(*args)
        try:
            async for item in agen:
                yield item
        finally:
            await agen.aclose()
        return
    result = await call(function, *args)
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
        return
    iterator = iter(result)
    try:
        while True:
            item = await asyncio.to_thread(next, iterator, _DONE)
            if item is _DONE:
                break
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
