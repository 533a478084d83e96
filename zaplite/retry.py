"""Retrying transient faults with backoff (tenacity), honouring a service's ``Retry-After``."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
import tenacity

from zaplite.errors import RetryableError

__all__ = ["RetryPolicy", "first_try_then", "is_transient"]

T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a fault worth retrying: a plugin's RetryableError or a network error."""
    return isinstance(error, RetryableError | httpx.TransportError | ConnectionError | TimeoutError)


async def first_try_then(
    function: Callable[[], Awaitable[T]],
    retrying: Callable[[], Any],
    retryable: Callable[[BaseException], bool],
) -> T:
    """Await ``function()``; only if it fails with a ``retryable`` error, go on with tenacity.

    Most calls succeed at once (an idle daemon makes dozens a second), and setting a
    tenacity ``AsyncRetrying`` up costs more than such a call. The first failure is
    handed to the ``retrying()`` object as its first attempt, so its waits, notes and
    number of attempts are what they would have been.
    """
    try:
        return await function()
    except BaseException as error:
        if not retryable(error):
            raise
        first: list[BaseException] = [error]

    async def again() -> T:
        if first:
            raise first.pop()
        return await function()

    async for attempt in retrying():
        with attempt:
            return await again()
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class RetryPolicy:
    """How transient faults are retried: ``attempts`` in all, exponential backoff with jitter.

    This is zaplite's one retry policy, built from ``[settings] retry_*``: the engine
    retries a trigger's poll and an action's perform with it, and plugins raise
    :class:`~zaplite.errors.RetryableError` (or :class:`~zaplite.errors.RateLimited`)
    instead of retrying on their own, so a fault is never retried in two layers at
    once. A service's ``retry_after`` is honoured up to ``max_wait``.

    With ``stopping`` set (see :meth:`stoppable`), a backoff ends as soon as the event is
    set and the last fault is raised: on shutdown a page is left for the next start
    rather than held for the backoff.
    """

    attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 60.0
    stopping: asyncio.Event | None = field(default=None, compare=False)

    def stoppable(self, stopping: asyncio.Event) -> RetryPolicy:
        """This policy, with backoffs cut short when ``stopping`` is set."""
        return replace(self, stopping=stopping)

    def _backoff(self, failures: int, error: BaseException | None) -> float:
        """The wait after ``failures`` failures in a row, the last being ``error``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(0.0, min(float(retry_after), self.max_wait))
        exponential = self.initial_wait * 2 ** max(0, failures - 1)
        return min(exponential + random.uniform(0, self.initial_wait), self.max_wait)

    def retrying(
        self,
        on_retry: Callable[[BaseException, int], None] | None = None,
        progress: Callable[[], Any] | None = None,
    ) -> Any:
        """A tenacity ``AsyncRetrying`` for this policy; re-raises the last error when it gives up.

        ``attempts`` counts failures in a row: when ``progress()`` (any value that changes
        when the work gets further, such as the number of pages recorded) has changed since
        the last failure, the count starts again, so a long poll is not given up for faults
        that it got past one by one.
        """
        last: list[BaseException] = []
        streak = {"failures": 0, "mark": progress() if progress is not None else None}

        def stop(state: tenacity.RetryCallState) -> bool:
            mark = progress() if progress is not None else None
            if mark != streak["mark"]:
                streak["mark"], streak["failures"] = mark, 0
            streak["failures"] += 1
            return streak["failures"] >= max(1, self.attempts)

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self._backoff(streak["failures"], error)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if state.outcome is not None:
                error = state.outcome.exception()
                if error is not None:
                    last[:] = [error]
                    if on_retry is not None:
                        on_retry(error, state.attempt_number)

        retrying = tenacity.AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(is_transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        stopping = self.stopping
        if stopping is not None:

            async def sleep(seconds: float) -> None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), seconds)
                if stopping.is_set() and last:
                    raise last[0]

            retrying.sleep = sleep
        return retrying

    async def call(
        self,
        function: Callable[[], Awaitable[T]],
        on_retry: Callable[[BaseException, int], None] | None = None,
        *,
        progress: Callable[[], Any] | None = None,
    ) -> T:
        """Await ``function()`` until it succeeds, a non-transient error, or the attempts run out.

        The first attempt is made directly (see :func:`first_try_then`); ``progress`` is
        as for :meth:`retrying`.
        """
        return await first_try_then(
            function, lambda: self.retrying(on_retry, progress), is_transient
        )
