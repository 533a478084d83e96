"""Fixtures for the documentation tests: the shop the README's plugin example talks to."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.docs.shop_service import Shop
from zaplite.sandbox.server import serve_in_thread


@pytest.fixture
def shop() -> Shop:
    """A shop with three paid orders and one pending, served two orders a page."""
    shop = Shop(api_key="test")
    shop.add_order("ada@example.com", 12.5)
    shop.add_order("bob@example.com", 30.0, status="pending")
    shop.add_order("cy@example.com", 8.0)
    shop.add_order("di@example.com", 99.0)
    return shop


@pytest.fixture
def shop_server(shop: Shop) -> Iterator[SimpleNamespace]:
    """The shop on a loopback port: ``url`` and the ``shop`` behind it."""
    with serve_in_thread(shop.app()) as server:
        yield SimpleNamespace(url=server.url, shop=shop)
