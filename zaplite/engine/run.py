"""One run of a zap: poll → dedup → deliver → record, page by page.

The engine drives a zap's trigger page by page. For each page it drops records it
has already delivered (by the trigger's dedup key), hands the rest to the zap's
:class:`~zaplite.engine.delivery.Delivery`, and records their tasks **in the same
transaction** that saves the page's cursor. A crash before that commit re-polls the
page; nothing is lost, and at most the page in flight is delivered twice.

It knows nothing of HTTP or SQL: plugins talk to services, the store keeps rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from zaplite.engine.budget import Budgets, Pace, share_calls
from zaplite.engine.connbook import ConnectionBook
from zaplite.engine.delivery import Delivery, PreparedPage, WorkItem
from zaplite.engine.leases import LeaseKeeper
from zaplite.engine.metrics import Metrics, parse_usage, record_time
from zaplite.engine.outage import StoreOutage
from zaplite.engine.readahead import prefetch
from zaplite.errors import (
    AuthError,
    PermanentError,
    PluginError,
    QuotaExceeded,
    ZapliteError,
)
from zaplite.jsoncodec import dumps_bytes
from zaplite.plugin.api import Page, PollContext
from zaplite.plugin.calls import describe_error, iterate
from zaplite.project.binding import BoundZap
from zaplite.project.connections import Connections
from zaplite.retry import RetryPolicy, is_transient
from zaplite.store import KeysFull, LeaseLost, Store, StoreFull, StoreUnavailable, StoreUnusable

if TYPE_CHECKING:
    from zaplite.project.workspace import Workspace

__all__ = ["RESULT_ATTRIBUTE", "STOP_GRACE", "Engine", "RunResult", "StoreState"]

log = logging.getLogger("zaplite.engine")

STOP_GRACE = 10.0
"""Seconds a stop waits for a request in flight (an upload, a page being read) to answer.

Past it the request is abandoned and its page is left for the next start (sent again
then: the page in flight at most twice), so ``zaplite run`` always stops well inside
systemd's ``TimeoutStopSec`` however long a service takes to answer.
"""

T = TypeVar("T")


_ROOM_SAMPLE = 50
"""Records whose size is measured to estimate the room a page takes in the store."""


def _room_for(items: list[WorkItem]) -> int:
    """About how many bytes recording ``items`` takes: each task holds its record and its steps.

    A task row holds the record and each step's input and output (about the record
    again), and SQLite writes it to the WAL before the database: four times the
    records' JSON, estimated from the first few records.
    """
    sample = items[:_ROOM_SAMPLE]
    try:
        measured = sum(len(dumps_bytes(item.record)) for item in sample)
    except (TypeError, ValueError):
        measured = 1024 * len(sample)
    return (4 * measured * len(items)) // max(1, len(sample)) + 512 * len(items)


class StopTimedOut(ZapliteError):
    """A stop abandoned a request that had not answered within :data:`STOP_GRACE` seconds."""


RECEIVED_PER_RUN = 1000
"""Received records an instant trigger's poll is handed at once; a run takes them all, so many at a time."""


class DeliveryAborted(ZapliteError):
    """A page's delivery gave up on a transient fault; the page is polled again next run.

    It is not itself transient, so the poll is not retried on top of the step's retries.
    """


class RunRow:
    """The run's row in the store, written only once the run has something to record.

    A poll that finds nothing (most polls of a daemon) leaves no row: 1,000 zaps on a
    30-second schedule would otherwise add 2.9 million rows a day and spend most of
    their idle time writing them.
    """

    def __init__(self, store: Store, zap_id: str, owner: str | None = None) -> None:
        self._store = store
        self._zap_id = zap_id
        self._owner = owner
        self.id: int | None = None

    async def get(self) -> int:
        """The run's id, creating its row (naming this process, ``owner``) on first use."""
        if self.id is None:
            self.id = await asyncio.to_thread(self._store.start_run, self._zap_id, self._owner)
        return self.id

    async def finish(self, status: str, message: str | None) -> None:
        """Record how the run ended (creating the row if the run wrote nothing else)."""
        await asyncio.to_thread(self._store.finish_run, await self.get(), status, message)


class StoreState:
    """The :class:`~zaplite.plugin.api.TriggerState` of one zap, read from the store."""

    def __init__(self, store: Store, zap_id: str) -> None:
        self._store = store
        self._zap_id = zap_id
        self.pending: dict[str, Any] = {}
        """State of pages already yielded, maybe not recorded yet (``None`` deletes a key)."""

    def get(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of those of ``keys`` that have one, the newest page's first.

        The engine reads a page ahead, so a trigger asking while it makes page N+1
        sees page N's state even if page N is not recorded yet.
        """
        wanted = list(keys)
        values = self._store.get_state(self._zap_id, [k for k in wanted if k not in self.pending])
        for key in wanted:
            if self.pending.get(key) is not None:
                values[key] = self.pending[key]
        return values

    async def noting(self, pages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Pass the trigger's pages on, keeping each one's state as soon as it is yielded."""
        try:
            async for page in pages:
                if isinstance(page, Page) and page.state:
                    self.pending.update(page.state)
                yield page
        finally:
            closer = getattr(pages, "aclose", None)
            if closer is not None:
                await closer()


RESULT_ATTRIBUTE = "zaplite_run_result"
"""The attribute of the log record of a run's summary line holding its :class:`RunResult`."""


@dataclass
class RunResult:
    """What one run of a zap did."""

    zap_id: str
    status: str = "ok"  # ok | failed | paused | skipped | interrupted
    found: int = 0
    delivered: int = 0
    failed: int = 0
    filtered: int = 0
    duplicates: int = 0
    pages: int = 0
    message: str | None = None
    usage: str | None = None
    seconds: float = 0.0
    task_ids: list[int] = field(default_factory=list)
    cut_short: bool = False
    """The run stopped between pages (a signal, or its lease was lost) before the poll ended."""
    held_elsewhere: bool = False
    """The run was skipped because another daemon holds the zap's lease."""
    delivering: bool = False
    """Whether the run was delivering (not polling) when it failed: whose connection failed."""
    auth_or_outage: bool = False
    """Whether it failed because a service refused the sign-in or could not be reached."""
    keys_full: str | None = None
    """What the store did when the zap's dedup keys passed its limit (a ``KeysFull`` outcome)."""

    @property
    def settled(self) -> bool:
        """Whether this run moved the cursor past its records instead of keeping their keys."""
        return self.keys_full == "settled"

    @property
    def outcome(self) -> str:
        """The run's status as a person reads it: ``ok`` only when no task failed either."""
        if self.status == "ok" and self.failed:
            return "finished with failures"
        return self.status

    def line(self) -> str:
        """A one-line summary for logs and ``zaplite run`` output.

        A run that failed before it found anything (a refused sign-in) gives no counts:
        "0 failed" beside "failed" would only confuse.
        """
        parts = [
            f"{self.found} new",
            f"{self.delivered} delivered",
            f"{self.failed} failed",
            f"{self.filtered} filtered",
        ]
        if self.status != "ok" and not (self.found or self.delivered or self.failed):
            text = f"{self.zap_id}: {self.outcome} in {self.seconds:.2f}s"
        else:
            text = f"{self.zap_id}: {self.outcome}: " + ", ".join(parts)
            text += f" in {self.seconds:.2f}s"
        if self.usage:
            text += f" ({self.usage})"
        if self.message:
            text += f" — {self.message}"
        return text


class Engine:
    """Runs bound zaps against a store with a set of open connections.

    ``owner`` names this process in the store's leases (see
    :class:`~zaplite.engine.leases.LeaseKeeper`); without one, runs take no lease.
    """

    def __init__(
        self,
        store: Store,
        connections: Connections,
        *,
        policy: RetryPolicy | None = None,
        pause_after_auth_failures: int = 3,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        metrics: Metrics | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.store = store
        self.connections = connections
        self.policy = policy or RetryPolicy()
        self.pause_after_auth_failures = pause_after_auth_failures
        self.outage = StoreOutage()
        """Whether the store is out of reach; its start and end are logged once each."""
        self.leases = LeaseKeeper(store, owner, lease_seconds, outage=self.outage)
        self.stopping = asyncio.Event()
        self.stop_grace = stop_grace
        """Seconds a stop waits for a request in flight (see :data:`STOP_GRACE`)."""
        self.quota_wait: dict[str, float] = {}
        self.metrics = metrics or Metrics()
        """What this engine did, for ``/metrics``."""
        self.connection_book = ConnectionBook()
        """What this engine saw of each connection, written to the store for the console."""
        self.budgets = Budgets()
        """Each connection's API calls and the pace that keeps them inside its budget."""
        self.on_page: Callable[[RunResult, int], None] | None = None
        """Called after each page with the run so far and the page's record count (known
        records included), for ``zaplite run --once`` to show progress."""

    @classmethod
    def for_workspace(cls, workspace: Workspace, *, owner: str | None = None) -> Engine:
        """An engine on the workspace's store, with its retry settings and fresh connections."""
        settings = workspace.config.settings
        return cls(
            workspace.store,
            Connections(workspace.config, workspace.registry, vault=workspace.vault),
            policy=RetryPolicy(
                attempts=settings.retry_attempts,
                initial_wait=settings.retry_initial_wait,
                max_wait=settings.retry_max_wait,
            ),
            pause_after_auth_failures=settings.pause_after_auth_failures,
            owner=owner,
            lease_seconds=settings.lease_seconds,
        )

    @property
    def owner(self) -> str | None:
        """This process's name in the store's leases, or ``None``."""
        return self.leases.owner

    @property
    def retry(self) -> RetryPolicy:
        """This engine's retry policy, giving up at once when the engine is asked to stop."""
        return self.policy.stoppable(self.stopping)

    async def _within_stop_grace(self, work: Awaitable[T], what: str) -> T:
        """Await ``work``; once a stop is asked for, at most :attr:`stop_grace` seconds more.

        Past that, ``work`` is cancelled (its request abandoned) and :class:`StopTimedOut`
        raised: its page is not recorded, so the next start sends it again.
        """
        task = asyncio.ensure_future(work)
        if task.done():
            return task.result()
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=self.stop_grace)
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                raise StopTimedOut(
                    f"stopped: {what} had no answer within {self.stop_grace:g} s of the stop "
                    "and was abandoned; the page is sent again at the next start"
                )
            return task.result()
        finally:
            stop.cancel()
            if not task.done():  # this run itself was cancelled
                task.cancel()

    # ------------------------------------------------------------------ a run

    async def run_zap(self, zap: BoundZap) -> RunResult:
        """Poll the zap once and deliver everything new, page by page."""
        started = time.monotonic()
        result = RunResult(zap.id)
        kept = self.leases.holds(zap.id)
        if kept:
            # The lease is ours already (or there are none): one read for all of it.
            if self.store.quick_reads:  # a local key lookup: cheaper than a thread hop
                start = self.store.run_start(zap.id)
            else:
                start = await asyncio.to_thread(self.store.run_start, zap.id)
            paused_reason, auth_failures = start.paused_reason, start.auth_failures
        else:
            start = None  # the cursor is read once the lease is taken
            paused_reason, auth_failures = await asyncio.to_thread(self.store.zap_flags, zap.id)
        if paused_reason:
            if kept:
                await self.leases.let_go(zap.id)
            result.status, result.message = "paused", paused_reason
            self.metrics.pause_changed(zap.id, True)
            return result
        wait_until = self.quota_wait.get(zap.connection or "")
        if wait_until and time.time() < wait_until:
            result.status = "skipped"
            result.message = "waiting for the service's API quota to renew"
            return result
        if start is None:
            if not await self.leases.take(zap.id):
                result.status, result.message = "skipped", "another daemon is running this zap"
                result.held_elsewhere = True
                return result
            cursor = await asyncio.to_thread(self.store.get_cursor, zap.id)
        else:
            cursor = start.cursor
        run = RunRow(self.store, zap.id, self.owner)
        interrupted: BaseException | None = None
        try:
            async with self.leases.running(zap.id):
                try:
                    await self._poll_and_deliver(zap, run, result, cursor)
                except BaseException as error:
                    await self._handle_failure(zap, result, error)
                    if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
                        result.status = "interrupted"
                        result.message = (
                            "stopped before the run finished; the rest is polled next time"
                        )
                        interrupted = error
                    elif isinstance(error, StoreUnusable | StoreFull | StoreUnavailable):
                        interrupted = error  # not the zap's fault: whoever runs it must stop
                else:
                    if result.cut_short and result.status == "ok":
                        result.status = "interrupted"
                        result.message = (
                            "stopped between pages; whatever was not polled yet is polled next time"
                        )
                    if auth_failures:  # an idle run writes nothing it need not
                        await asyncio.to_thread(self.store.clear_auth_failures, zap.id)
        finally:
            result.seconds = time.monotonic() - started
            idle = run.id is None and result.status == "ok"
            try:
                if not idle:  # an idle poll records no run
                    await run.finish(result.status, result.message)
            except StoreFull as full:  # the run row stays open; the daemon waits for room
                interrupted = interrupted or full
            except StoreUnavailable as error:  # the run row stays open; said once
                interrupted = interrupted or error
            try:
                await self.leases.after_run(zap.id, idle=idle)
            except StoreUnavailable as error:  # the lease expires on its own
                interrupted = interrupted or error
            self.metrics.run_finished(zap.id, result.status, result.seconds)
            await self._note_connections(zap, result, error=interrupted)
        if isinstance(interrupted, StoreUnavailable):
            raise interrupted  # said once by the outage's own lines, not once per run
        self.outage.answered()
        log.info("%s", result.line(), extra={RESULT_ATTRIBUTE: result})
        if interrupted is not None:
            raise interrupted  # recorded as interrupted; cancellation still propagates
        return result

    async def note_api_use(self, zap: BoundZap) -> Pace | None:
        """Ask the zap's app how its connection spends its API allowance; a new pace, if any.

        The calls are added to the store's hourly counts every few seconds, and the calls
        the other daemons sharing the store added there are counted in the projection
        too, so the connection's pace is that of all of them (``zaplite.engine.budget``).
        """
        name = zap.connection
        app = self.connections.registry.apps.get(zap.trigger.app)
        if name is None or app is None or app.api_use is None:
            return None
        connection = self.connections.opened(name)
        if connection is None:
            return None
        try:
            use = app.api_use(connection)
        except Exception as error:  # a plugin's report never fails a run
            log.warning("the app %s could not report its API use (%s)", app.name, error)
            return None
        # First the calls of every daemon sharing the store, so the pace is of their sum.
        await share_calls(self.budgets, self.store)
        pace = self.budgets.note(name, use)
        if pace is not None:
            self.metrics.paced(name, pace.factor)
        return pace

    async def _note_connections(
        self, zap: BoundZap, result: RunResult, *, error: BaseException | None
    ) -> None:
        """Tell the connection book what the run showed, and write what is due to the store."""
        book = self.connection_book
        action_connections = {s.connection for s in zap.steps if not s.is_filter}
        if result.status == "ok":
            book.ok(zap.connection)
            if result.delivered:
                for name in action_connections:
                    book.ok(name)
        elif result.status in ("failed", "paused") and result.message and result.auth_or_outage:
            for name in action_connections if result.delivering else {zap.connection}:
                book.error(name, result.message)
        if error is not None and isinstance(error, StoreUnusable | StoreFull | StoreUnavailable):
            return
        due = book.due()
        if due:
            try:
                await asyncio.to_thread(self.store.save_connection_statuses, due)
            except StoreUnavailable as problem:
                self.outage.failed(problem)
            except Exception as problem:  # news for the console never fails a run
                log.warning("could not save the connections' status (%s)", problem)

    async def _handle_failure(self, zap: BoundZap, result: RunResult, error: BaseException) -> None:
        result.status = "failed"
        if isinstance(error, DeliveryAborted) and error.__cause__ is not None:
            error = error.__cause__
        result.auth_or_outage = isinstance(error, AuthError) or is_transient(error)
        if isinstance(error, AuthError):
            count = await asyncio.to_thread(self.store.record_auth_failure, zap.id)
            result.message = f"authentication failed: {error}"
            if count >= self.pause_after_auth_failures:
                reason = (
                    f"paused after {count} runs in a row failed to authenticate ({error}); "
                    f"fix the connection, then run `zaplite resume {zap.id}`"
                )
                await asyncio.to_thread(self.store.pause, zap.id, reason)
                result.status, result.message = "paused", reason
        elif isinstance(error, StoreUnavailable):
            result.status = "interrupted"
            result.message = f"{error}; the page is polled again once the store answers"
        elif isinstance(error, LeaseLost):
            result.status, result.message = "interrupted", str(error)
        elif isinstance(error, QuotaExceeded):
            wait = error.retry_after if error.retry_after is not None else 3600.0
            self.quota_wait[zap.connection or ""] = time.time() + wait
            result.message = f"{error} Polling this connection waits {int(wait)} s."
        elif isinstance(error, StoreFull):
            result.status = "interrupted"
            result.message = f"{error}; the page is polled again once there is room"
        elif isinstance(error, StopTimedOut):
            result.status, result.message = "interrupted", str(error)
        elif is_transient(error) and self.stopping.is_set():
            result.status = "interrupted"
            result.message = (
                f"stopped while retrying ({error}); nothing was lost, "
                "the next run polls again from the last checkpoint"
            )
        elif is_transient(error):
            result.message = (
                f"gave up after {self.policy.attempts} attempts: {error}; "
                "nothing was lost, the next run polls again from the last checkpoint"
            )
        elif isinstance(error, PermanentError | PluginError | ZapliteError):
            result.message = str(error)
        elif isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
            pass
        else:
            log.debug("unexpected error in zap %s", zap.id, exc_info=error)
            result.message = (
                f"the plugin {zap.plugin!r} failed in the trigger "
                f"{zap.trigger.app}.{zap.trigger.name}: {describe_error(error)}"
            )

    async def _poll_and_deliver(
        self, zap: BoundZap, run: RunRow, result: RunResult, cursor: Any
    ) -> None:
        cursor_box = {"cursor": cursor, "pages": 0}
        retry = self.retry

        async def poll_from_checkpoint() -> None:
            after = 0
            while True:
                # An instant trigger with more stored records than one poll takes gets the
                # next ones (each row once per run, even one whose delivery was not recorded).
                handed, after = await poll_once(after)
                if handed < RECEIVED_PER_RUN:
                    return

        async def poll_once(after: int) -> tuple[int, int]:
            """One poll; for an instant trigger, how many stored records it got, and the last one's row."""
            connection = await self.connections.get(zap.connection)
            state = StoreState(self.store, zap.id)
            received = None
            last = after
            if zap.trigger.instant:
                stored = await asyncio.to_thread(
                    self.store.undelivered, zap.id, RECEIVED_PER_RUN, after
                )
                received = [item.record for item in stored]
                last = stored[-1].id if stored else after
            ctx = PollContext(
                zap_id=zap.id,
                params=zap.trigger_params,
                connection=connection,
                cursor=cursor_box["cursor"],
                start=zap.zap.trigger.start,
                state=state,
                log=logging.getLogger(f"zaplite.zap.{zap.id}"),
                received=received,
            )
            delivery = Delivery(
                zap,
                self.connections,
                retry,
                ahead=True,
                before_retry=lambda: self.leases.check(zap.id),
            )
            # The next page is fetched and mapped while this one is delivered and recorded.
            pages_read = state.noting(iterate(zap.trigger.poll, ctx))
            pages_ahead = prefetch(self._prepared(zap, delivery, pages_read))
            async with aclosing(pages_ahead) as pages:
                while True:
                    with delivery.waiting():
                        ahead = await self._within_stop_grace(
                            anext(pages, None), "the trigger's poll"
                        )
                    if ahead is None:
                        break
                    if await self._deliver_page(
                        zap, run, ahead, delivery, result, cursor_box["cursor"]
                    ):
                        cursor_box["pages"] += 1
                    page = ahead.page
                    settled = result.settled and page.settled_cursor is not None
                    cursor_box["cursor"] = page.settled_cursor if settled else page.cursor
                    if self.stopping.is_set() or self.leases.lost(zap.id):
                        result.cut_short = True
                        return 0, last
            return len(received or ()), last

        def note(error: BaseException, attempt: int) -> None:
            log.warning("zap %s: poll attempt %d failed (%s), retrying", zap.id, attempt, error)

        # A fault after a page was recorded starts the count of attempts again; a page read
        # again from the checkpoint whose records are all known records nothing, so a poll
        # that always fails past the same page still gives up.
        await retry.call(poll_from_checkpoint, note, progress=lambda: cursor_box["pages"])

    @staticmethod
    def _keys_full(result: RunResult, note: KeysFull) -> None:
        """Say, once a run, what the store did with a zap's dedup keys past its limit."""
        if result.keys_full == note.outcome:
            return
        if result.keys_full == "settled" and note.outcome != "settled":
            return  # the run has settled already; its later pages are fine
        result.keys_full = note.outcome
        head = (
            f"zap {note.zap_id}: {note.count:,} dedup keys passed the store's "
            f"max_keys_per_zap ({note.limit:,})"
        )
        if note.outcome == "settled":
            log.warning(
                "%s; the cursor moves past the records read so far without looking back, "
                "so none of them is delivered twice, but a record committed late with an "
                "earlier time is not seen",
                head,
            )
        elif note.outcome == "kept":
            log.warning("%s; all are kept, since the next poll reads their records again", head)
        else:
            log.warning(
                "%s; the oldest were forgotten: a record the trigger yields again with one of "
                "them is delivered again",
                head,
            )

    async def _prepared(
        self, zap: BoundZap, delivery: Delivery, pages: AsyncIterator[Any]
    ) -> AsyncIterator[PreparedPage]:
        """The trigger's pages, each with its records keyed and prepared ahead of delivery."""
        try:
            async for page in pages:
                if not isinstance(page, Page):
                    raise PluginError(
                        f"the plugin {zap.plugin!r} yielded {type(page).__name__}, not a "
                        f"zaplite.Page, from the trigger {zap.trigger.app}.{zap.trigger.name}"
                    )
                yield await delivery.prepare(page)
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    async def _deliver_page(
        self,
        zap: BoundZap,
        run: RunRow,
        ahead: PreparedPage,
        delivery: Delivery,
        result: RunResult,
        saved_cursor: Any,
    ) -> bool:
        """Deliver a page's new records and record them; whether anything was recorded."""
        page = ahead.page
        result.pages += 1
        if page.usage:
            result.usage = page.usage
            self.metrics.usage_seen(zap.trigger.app, zap.connection, page.usage)
            api = parse_usage(page.usage).get("api-usage")
            if api is not None:
                self.connection_book.usage(zap.connection, *api)
        known = await asyncio.to_thread(
            self.store.known_keys, zap.id, [item.key for item in ahead.items]
        )
        fresh: list[WorkItem] = []
        taken: set[str] = set()
        for item in ahead.items:
            if item.key in known or item.key in taken:
                result.duplicates += 1
                continue
            taken.add(item.key)
            fresh.append(item)
        if fresh:  # never send what cannot be recorded: a full disk is waited out first
            self.store.check_room(_room_for(fresh))
            await self.leases.check(zap.id)  # a daemon stalled past its lease sends nothing
        result.delivering = True
        try:
            items = (
                await self._within_stop_grace(delivery.deliver(fresh), "the delivery in flight")
                if fresh
                else []
            )
        except BaseException as error:
            if is_transient(error):
                raise DeliveryAborted(str(error)) from error
            raise
        result.delivering = False
        tasks = [item.task() for item in items]
        # An instant trigger's page marks its received records delivered, the known ones too.
        received_keys = [item.key for item in ahead.items] if zap.trigger.instant else []
        if not tasks and not page.state and page.cursor == saved_cursor and not received_keys:
            if self.on_page is not None:
                self.on_page(result, len(ahead.items))
            return False  # nothing new and nothing moved: no write at all (an idle poll)
        overlap = zap.trigger.overlap_for(zap.trigger_params)
        forget_before = page.watermark - overlap if page.watermark else None
        # Delivery's gate stays shut while the page is recorded: its thread needs the GIL,
        # and slices of the next page on the loop would slow it (see zaplite/engine/gate.py).
        # Once this run has settled (its keys were too many to keep), every later page
        # saves its settled cursor too: the keys of the pages before are gone.
        settled = result.settled and page.settled_cursor is not None
        full: list[KeysFull] = []
        ids = await asyncio.to_thread(
            self.store.commit_page,
            zap.id,
            await run.get() if tasks else run.id,
            tasks=tasks,
            cursor=page.settled_cursor if settled else page.cursor,
            keys=[item.key for item in items],
            watermark=page.watermark,
            forget_before=forget_before,
            state=page.state,
            settled_cursor=None if settled else page.settled_cursor,
            on_keys_full=full.append,
            received_keys=received_keys,
            fence=self.leases.fence(zap.id),
        )
        for note in full:
            self._keys_full(result, note)
        result.task_ids.extend(ids)
        self.metrics.tasks_recorded(zap.id, (item.status or "success" for item in items))
        if zap.trigger.time_field is not None:
            self.metrics.delivered(
                record_time(zap.trigger.time_of(item.record))
                for item in items
                if item.status in (None, "success")
            )
        for item in items:
            result.found += 1
            if item.status == "success":
                result.delivered += 1
            elif item.status == "failed":
                result.failed += 1
            else:
                result.filtered += 1
        if self.on_page is not None:
            self.on_page(result, len(ahead.items))
        return True
