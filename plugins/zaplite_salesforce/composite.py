"""Queries of several polls that fall due together, sent as one Composite call.

Salesforce counts ``POST /services/data/vXX.X/composite`` as ONE API call for up to 25
subrequests, of which at most 5 may be query operations. The zaps of one connection
and one interval tick at the same instants (``zaplite.engine.schedules``), so their
polls ask for their first pages within milliseconds of each other. :class:`Gatherer`
holds each such request for a moment (:data:`GAP` after the last one came, never more
than :data:`LONGEST_WAIT` after the first), then sends what it gathered: a lone
request as itself, several as one composite call, five query operations a call.

A *group* is the requests of one poll that must go together, in order, in one call
(the cheap look-back's read and its ``COUNT()``, see ``polling.py``). A subrequest's
error fails only the group it belongs to, as it would have failed the request sent
alone; an error of the composite call itself fails every group in it. Later pages
(``nextRecordsUrl``) are not gathered: they follow at once, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zaplite_salesforce.errors import error_for_subrequest

if TYPE_CHECKING:
    from zaplite_salesforce.connection import SalesforceClient

__all__ = ["GAP", "LONGEST_WAIT", "MAX_QUERIES", "MAX_SUBREQUESTS", "Gatherer", "Sub"]

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
"""Salesforce's limits per composite call: subrequests, and query operations among them."""

GAP = 0.1
"""Seconds a gathered request waits for another one before its call is sent."""

LONGEST_WAIT = 0.5
"""Seconds at most between the first request gathered for a call and the call."""


@dataclass(frozen=True)
class Sub:
    """One query's first page as a subrequest: the SOQL, and whether it is a ``queryAll``."""

    soql: str
    all_rows: bool = False
    query: bool = True
    """Whether Salesforce counts it as a query operation (query, queryAll, next page: yes)."""


@dataclass
class _Group:
    subs: Sequence[Sub]
    future: asyncio.Future[list[Any]]
    queries: int = field(init=False)

    def __post_init__(self) -> None:
        self.queries = sum(1 for sub in self.subs if sub.query)


class Gatherer:
    """Gathers the polls' first requests of one connection into composite calls.

    A lone request is sent by itself (``client.first_page``); composite calls go
    through ``client.post``. Each call's answer is handed to the groups waiting on it.
    """

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._pending: list[_Group] = []
        self._first = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.calls = 0
        """Calls sent (alone or composite), for tests and benchmarks."""

    async def get(self, subs: Sequence[Sub]) -> list[Any]:
        """The JSON bodies of ``subs``, sent together in one call with others' requests."""
        if not subs:
            return []
        if len(subs) > MAX_SUBREQUESTS or sum(1 for s in subs if s.query) > MAX_QUERIES:
            raise ValueError("a group of subrequests must fit in one composite call")
        loop = asyncio.get_running_loop()
        group = _Group(subs, loop.create_future())
        if self._pending and not self._fits(group):
            self._flush()
        if not self._pending:
            self._first = time.monotonic()
        self._pending.append(group)
        if sum(g.queries for g in self._pending) >= MAX_QUERIES:
            self._flush()
        else:
            self._arm(loop)
        return await group.future

    def _fits(self, group: _Group) -> bool:
        subs = sum(len(g.subs) for g in self._pending) + len(group.subs)
        queries = sum(g.queries for g in self._pending) + group.queries
        return subs <= MAX_SUBREQUESTS and queries <= MAX_QUERIES

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        left = LONGEST_WAIT - (time.monotonic() - self._first)
        self._timer = loop.call_later(max(0.0, min(GAP, left)), self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        groups, self._pending = self._pending, []
        if not groups:
            return
        task = asyncio.get_running_loop().create_task(self._call(groups))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, groups: list[_Group]) -> None:
        self.calls += 1
        try:
            if len(groups) == 1 and len(groups[0].subs) == 1:
                answers = [await self._alone(groups[0].subs[0])]
                _settle(groups[0], answers)
                return
            await self._composite(groups)
        except Exception as error:  # the call as a whole failed: every group fails
            for group in groups:
                if not group.future.done():
                    group.future.set_exception(error)
        except BaseException:
            for group in groups:
                group.future.cancel()
            raise

    async def _alone(self, sub: Sub) -> Any:
        return await self.client.first_page(sub.soql, all_rows=sub.all_rows)

    async def _composite(self, groups: list[_Group]) -> None:
        requests = []
        for g, group in enumerate(groups):
            for s, sub in enumerate(group.subs):
                url = self.client.query_url(sub.soql, all_rows=sub.all_rows)
                requests.append({"method": "GET", "url": url, "referenceId": f"g{g}s{s}"})
        body = await self.client.post(
            f"{self.client.api_path}/composite",
            {"allOrNone": False, "compositeRequest": requests},
            headers=self.client.query_headers(),
        )
        answers = {
            str(entry.get("referenceId")): entry
            for entry in (body.get("compositeResponse") or [] if isinstance(body, dict) else [])
            if isinstance(entry, dict)
        }
        for g, group in enumerate(groups):
            bodies: list[Any] = []
            failure: Exception | None = None
            for s in range(len(group.subs)):
                entry = answers.get(f"g{g}s{s}")
                if entry is None:
                    failure = error_for_subrequest(
                        502, [{"message": "Salesforce left a subrequest unanswered."}]
                    )
                    break
                status = int(entry.get("httpStatusCode") or 500)
                if status >= 400:
                    failure = error_for_subrequest(
                        status, entry.get("body"), usage=self.client.usage
                    )
                    break
                bodies.append(entry.get("body"))
            if group.future.done():
                continue
            if failure is not None:
                group.future.set_exception(self.client._scrubbed(failure))
            else:
                group.future.set_result(bodies)


def _settle(group: _Group, answers: list[Any]) -> None:
    if not group.future.done():
        group.future.set_result(answers)
