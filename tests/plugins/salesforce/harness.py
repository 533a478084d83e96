"""The Salesforce tests' engine double.

:class:`ZapDouble` drives a trigger exactly as the engine's contract says: it saves
``page.cursor`` after each page and passes it back on the next poll, drops records
whose ``trigger.key_of`` was already delivered, keeps ``page.state`` for
``ctx.state.get``, and forgets keys that fall ``overlap`` behind a page's watermark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from zaplite_salesforce.connection import SalesforceClient

from zaplite import PollContext, Record, Trigger

__all__ = ["DictState", "ZapDouble"]


class DictState:
    """A dict-backed :class:`zaplite.TriggerState`."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those of ``keys`` that have one."""
        return {key: self.values[key] for key in keys if key in self.values}


@dataclass
class ZapDouble:
    """A zap driven the way the engine drives a trigger (see the module docstring)."""

    trigger: Trigger
    params: BaseModel
    client: SalesforceClient
    start: Any = "now"
    cursor: Any = None
    state: DictState = field(default_factory=DictState)
    keys: dict[str, datetime | None] = field(default_factory=dict)
    delivered: list[Record] = field(default_factory=list)
    duplicates: int = 0
    pages: int = 0
    cursors: list[Any] = field(default_factory=list)

    async def poll(
        self,
        *,
        max_pages: int | None = None,
        after_page: Callable[[int], None] | None = None,
    ) -> list[Record]:
        """Poll once; stop after ``max_pages`` pages (a crash after that commit)."""
        ctx = PollContext(
            zap_id="test-zap",
            params=self.params,
            connection=self.client,
            cursor=self.cursor,
            start=self.start,
            state=self.state,
            log=logging.getLogger("tests.salesforce"),
        )
        fresh_here: list[Record] = []
        overlap = self.trigger.overlap_for(self.params)
        count = 0
        async with aclosing(self.trigger.poll(ctx)) as pages:  # type: ignore[type-var]
            async for page in pages:
                taken: set[str] = set()
                for record in page.records:
                    key = self.trigger.key_of(record)
                    if key in self.keys or key in taken:
                        self.duplicates += 1
                        continue
                    taken.add(key)
                    fresh_here.append(record)
                    self.delivered.append(record)
                for key in taken:
                    self.keys[key] = page.watermark
                self.cursor = page.cursor
                self.cursors.append(page.cursor)
                for key, value in page.state.items():
                    if value is None:
                        self.state.values.pop(key, None)
                    else:
                        self.state.values[key] = value
                if page.watermark is not None:
                    limit = page.watermark - overlap
                    self.keys = {
                        key: mark
                        for key, mark in self.keys.items()
                        if mark is None or mark >= limit
                    }
                count += 1
                self.pages += 1
                if after_page is not None:
                    after_page(count)
                if max_pages is not None and count >= max_pages:
                    break
        return fresh_here
