"""What keeps a long backlog's memory flat and its CPU low: the collector settings, freed responses."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from zaplite.engine.gctune import YOUNG_THRESHOLD, tune_after_startup
from zaplite.httpresponses import release
from zaplite.sandbox.server import serve_in_thread


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """Put the collector back as it was (thresholds, frozen objects, enabled)."""
    threshold = gc.get_threshold()
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()


def test_start_up_objects_are_frozen_and_young_collections_are_rarer(collector_restored) -> None:
    _, middle, old = gc.get_threshold()
    tune_after_startup()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


def test_a_released_response_and_its_body_are_freed_without_the_collector(
    collector_restored,
) -> None:
    big = b"x" * 1_000_000
    app = Starlette(routes=[Route("/", lambda request: Response(big))])

    async def fetch(url: str, *, let_go: bool) -> weakref.ref[httpx.Response]:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
            assert response.content == big
            if let_go:
                release(response)
            return weakref.ref(response)

    gc.disable()
    with serve_in_thread(app) as server:
        url = f"http://127.0.0.1:{server.port}/"
        kept = asyncio.run(fetch(url, let_go=False))
        freed = asyncio.run(fetch(url, let_go=True))
    assert freed() is None  # reference counting alone freed it, body included
    if kept() is not None:  # httpx's response/stream cycle: only the collector frees it
        gc.collect()
        assert kept() is None
