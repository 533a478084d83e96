"""``zaplite.engine.readahead``: order, one item ahead at most, errors in place, clean closing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest

from zaplite.engine.readahead import prefetch
from zaplite.plugin.calls import iterate


class Source:
    """An async iterator of 0..n-1 that notes how far it was read and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.produced = 0
        self.closed = False

    async def items(self) -> AsyncIterator[int]:
        try:
            for index in range(self.n):
                if index == self.fail_at:
                    raise ValueError(f"broken at {index}")
                self.produced += 1
                yield index
        finally:
            self.closed = True


def test_items_come_in_order_and_the_source_is_closed() -> None:
    source = Source(5)

    async def main() -> list[int]:
        return [item async for item in prefetch(source.items())]

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert source.closed


def test_reads_at_most_depth_plus_one_ahead_of_the_consumer() -> None:
    source = Source(100)

    async def main() -> list[int]:
        seen = []
        async with aclosing(prefetch(source.items(), depth=1)) as items:
            async for item in items:
                seen.append(item)
                for _ in range(20):  # give the producer every chance to run ahead
                    await asyncio.sleep(0)
                # the item in hand, one in the queue, one waiting to be put
                assert source.produced <= item + 3
                if item == 4:
                    break
        return seen

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert source.closed
    assert source.produced < 10


def test_an_error_is_raised_after_the_items_before_it() -> None:
    source = Source(10, fail_at=3)

    async def main() -> list[int]:
        seen = []
        with pytest.raises(ValueError, match="broken at 3"):
            async for item in prefetch(source.items()):
                seen.append(item)
        return seen

    assert asyncio.run(main()) == [0, 1, 2]
    assert source.closed


def test_cancelling_the_consumer_stops_the_read_ahead() -> None:
    source = Source(1_000_000)

    async def consume() -> None:
        async with aclosing(prefetch(source.items())) as items:  # as the engine reads pages
            async for _item in items:
                await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []

    asyncio.run(main())
    assert source.closed
    assert source.produced < 5


def slow_plain_pages(ctx: object) -> Iterator[int]:
    """A plain (thread-run) generator, as a synchronous plugin trigger is."""
    for index in range(100):
        time.sleep(0.1)
        yield index


def test_leaving_early_while_a_plain_generator_runs_in_its_thread_neither_hangs_nor_raises() -> (
    None
):
    async def main() -> list[int]:
        seen = []
        async with aclosing(prefetch(iterate(slow_plain_pages, None))) as pages:
            async for page in pages:
                seen.append(page)
                # Page 1 now waits in the queue, and page 2 is being read in its thread.
                await asyncio.sleep(0.15)
                break
        return seen

    async def guarded() -> list[int]:
        task = asyncio.create_task(main())
        done, _ = await asyncio.wait({task}, timeout=20)  # a deadlock guard, not a speed check
        assert task in done, "leaving the loop hung"
        return task.result()

    assert asyncio.run(guarded()) == [0]
