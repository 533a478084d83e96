"""The fault tests' kit: two emulated orgs and two emulated CleverTap accounts behind one project.

A :class:`World` holds a *bad* and a *good* Salesforce org and a *bad* and a *good*
CleverTap account, each a real HTTP server on loopback, and a
:class:`~zaplite.testing.ZapliteProject` with the real plugins and one connection to
each. Faults are armed on the bad ones; a second zap that touches only the good ones
runs in the same engine run, at the same time, and must not notice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.support.emulators import Account, Org
from tests.support.zaps import contact_zap
from zaplite.engine.run import Engine, RunResult
from zaplite.testing import ZapliteProject

__all__ = ["World"]


@dataclass
class World:
    """Both bad and good services, a project wired to all four, and timing of the last run."""

    project: ZapliteProject
    sf_bad: Org
    sf_good: Org
    ct_bad: Account
    ct_good: Account
    last_seconds: float = 0.0
    results: list[dict[str, RunResult]] = field(default_factory=list)

    def sf_zaps(self) -> None:
        """``faulty`` polls the bad org, ``healthy`` the good one; both upload to the good account."""
        self.project.add_zap(contact_zap("faulty", sf="sf_bad", ct="ct_good"))
        self.project.add_zap(contact_zap("healthy", sf="sf_good", ct="ct_good"))
        self.start()

    def ct_zaps(self, *, phone: bool = False) -> None:
        """Both zaps poll the good org; ``faulty`` uploads to the bad account, ``healthy`` to the good."""
        self.project.add_zap(contact_zap("faulty", sf="sf_good", ct="ct_bad", phone=phone))
        self.project.add_zap(contact_zap("healthy", sf="sf_good", ct="ct_good", phone=phone))
        self.start()

    def start(self) -> None:
        """The first poll of both zaps (start = now: nothing fires), then forget its requests."""
        first = self.run()
        for result in first.values():
            assert result.status == "ok" and result.found == 0, result.line()
        for org in (self.sf_bad, self.sf_good):
            org.emu.log.clear()
        for account in (self.ct_bad, self.ct_good):
            account.emu.state.requests.clear()

    def run(self, *zap_ids: str) -> dict[str, RunResult]:
        """Run the zaps (default both) at the same time in one engine, as ``run --once`` does."""
        return self.run_rounds(list(zap_ids) or ["faulty", "healthy"])[0]

    def run_rounds(self, *rounds: list[str]) -> list[dict[str, RunResult]]:
        """Several rounds of runs in one engine (as the daemon keeps one): each round at once."""
        workspace = self.project.workspace

        async def go() -> list[list[RunResult]]:
            engine = Engine.for_workspace(workspace)
            try:
                done = []
                for ids in rounds:
                    runs = (engine.run_zap(workspace.zap(i)) for i in ids)
                    done.append(list(await asyncio.gather(*runs)))
                return done
            finally:
                await engine.connections.close()

        started = time.monotonic()
        rounds_done = asyncio.run(go())
        self.last_seconds = time.monotonic() - started
        by_round = [{result.zap_id: result for result in results} for results in rounds_done]
        self.results.extend(by_round)
        return by_round

    def tasks(self, zap_id: str, status: str | None = None) -> list[Any]:
        """The zap's tasks (optionally of one status)."""
        filters: dict[str, Any] = {"zap_id": zap_id}
        if status:
            filters["status"] = status
        return self.project.tasks(**filters)

    def assert_delivered_once(self, zap_id: str, emails: list[str]) -> None:
        """Every email has exactly one successful task of ``zap_id``, and no task is extra."""
        keys = Counter(task.record["Email"] for task in self.tasks(zap_id, "success"))
        assert set(keys) == set(emails), sorted(set(emails) ^ set(keys))[:5]
        assert max(keys.values()) == 1, keys.most_common(3)
        assert len(self.tasks(zap_id)) == len(emails)

    def assert_recovers(self, emails: list[str], account: Account) -> None:
        """With the fault gone, ``faulty`` delivers every one of ``emails`` to ``account`` once.

        The next run delivers the rest, and the run after it finds nothing: nothing fires twice.
        """
        again = self.run()
        assert again["faulty"].status == "ok", again["faulty"].line()
        self.assert_delivered_once("faulty", emails)
        assert set(emails) <= account.identities()
        assert self.run()["faulty"].found == 0

    def assert_healthy(self, result: RunResult, emails: list[str]) -> None:
        """The healthy zap delivered every record of this run, once, to the good account."""
        assert result.status == "ok", result.line()
        assert result.delivered == len(emails) and result.failed == 0, result.line()
        assert set(emails) <= self.ct_good.identities()
