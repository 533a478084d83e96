"""Progress of long runs for a person watching: live counts in a terminal, a line per page with -v.

A backlog of 100,000 records takes a while; without this, ``zaplite run --once`` says
nothing until it ends. Nothing of it is printed when stderr is not a terminal (piped, in
a service) unless ``-v`` asks for the lines per page, and never with ``--json``.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn

from zaplite.cli.common import err_console
from zaplite.engine.run import RunResult

__all__ = ["RunProgress"]


class RunProgress:
    """Shows each zap's run as its pages are recorded: read, delivered, failed, rate.

    Use as a context manager around the runs, and give :meth:`page` to the engine's
    ``on_page``.
    """

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.live = err_console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not self.live,
        )
        self._tasks: dict[str, TaskID] = {}
        self._read: dict[str, int] = {}
        self._pages: dict[str, int] = {}
        self._started = time.monotonic()

    def __enter__(self) -> RunProgress:
        self._started = time.monotonic()
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def page(self, result: RunResult, records: int) -> None:
        """Note a recorded page of ``records`` records of ``result``'s run."""
        zap_id = result.zap_id
        self._read[zap_id] = self._read.get(zap_id, 0) + records
        self._pages[zap_id] = self._pages.get(zap_id, 0) + 1
        seconds = max(time.monotonic() - self._started, 0.001)
        counts = (
            f"{self._read[zap_id]:,} read, {result.delivered:,} delivered, "
            f"{result.failed:,} failed, {result.filtered:,} filtered "
            f"({result.found / seconds:,.0f} new records/s)"
        )
        text = f"{zap_id}: {counts}"
        if self.verbose:
            err_console.print(
                f"{zap_id}: page {self._pages[zap_id]} of {records:,} records; so far {counts}",
                markup=False,
            )
        if self.live:
            task = self._tasks.get(zap_id)
            if task is None:
                self._tasks[zap_id] = self._progress.add_task(text, total=None)
            else:
                self._progress.update(task, description=text)
            self._progress.refresh()  # a page is seconds of work at most: show each one
