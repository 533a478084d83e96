"""The engine: poll → dedup → filter → map → act → record, one zap run at a time.

The engine drives a zap's trigger page by page. For each page it drops records it
has already delivered (by the trigger's dedup key), takes the rest through the
steps, and records their tasks **in the same transaction** that saves the page's
cursor. A crash before that commit re-polls the page; nothing is lost, and at most
the page in flight is delivered twice.

It knows nothing of HTTP or SQL: plugins talk to services, the store keeps rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from zaplite.engine.delivery import Delivery, WorkItem
from zaplite.engine.gate import AheadGate
from zaplite.engine.leases import crashed_here
from zaplite.engine.readahead import prefetch
from zaplite.errors import (
    AuthError,
    PermanentError,
    PluginError,
    QuotaExceeded,
    UsageError,
    ZapliteError,
)
from zaplite.plugin.api import ActionContext, Failure, Page, PollContext, Record, Success
from zaplite.plugin.calls import call, iterate
from zaplite.project.binding import BoundZap
from zaplite.project.connections import Connections
from zaplite.retry import RetryPolicy, StoppableRetry, is_transient
from zaplite.store import Store, StoreUnusable

__all__ = ["Engine", "RunResult", "StoppableRetry", "StoreState"]

log = logging.getLogger("zaplite.engine.run")


class DeliveryAborted(ZapliteError):
    """A page's delivery gave up on a transient fault; the page is polled again next run.

    It is not itself transient, so the poll is not retried on top of the step's retries.
    """


class _KeptLease:
    """A zap's lease that this engine keeps between runs, and when the store last confirmed it."""

    __slots__ = ("confirmed",)

    def __init__(self, confirmed: float) -> None:
        self.confirmed = confirmed
        """``time.monotonic()`` just before the statement that took or renewed the lease."""


class RunRow:
    """The run's row in the store, written only once the run has something to record.

    A poll that finds nothing (most polls of a daemon) leaves no row: 1,000 zaps on a
    30-second schedule would otherwise add 2.9 million rows a day and spend most of
    their idle time writing them.
    """

    def __init__(self, engine: Engine, zap_id: str) -> None:
        self._engine = engine
        self._zap_id = zap_id
        self.id: int | None = None

    async def get(self) -> int:
        """The run's id, creating its row on first use."""
        if self.id is None:
            self.id = await self._engine._db(self._engine.store.start_run, self._zap_id)
        return self.id


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


_AHEAD_CHUNK = 200
"""Records prepared ahead between two chances for the page being delivered to go on."""


@dataclass(slots=True)
class PreparedPage:
    """A trigger page with its records keyed and prepared up to their first action step."""

    page: Page
    items: list[WorkItem]
    start: int
    """The index of the first step :meth:`~zaplite.engine.delivery.Delivery.run` still has to run."""


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

    def line(self) -> str:
        """A one-line summary for logs and ``zaplite run`` output."""
        parts = [
            f"{self.found} new",
            f"{self.delivered} delivered",
            f"{self.failed} failed",
            f"{self.filtered} filtered",
        ]
        text = f"{self.zap_id}: {self.status}: " + ", ".join(parts) + f" in {self.seconds:.2f}s"
        if self.usage:
            text += f" ({self.usage})"
        if self.message:
            text += f" — {self.message}"
        return text


class Engine:
    """Runs bound zaps against a store with a set of open connections."""

    def __init__(
        self,
        store: Store,
        connections: Connections,
        *,
        policy: RetryPolicy | None = None,
        pause_after_auth_failures: int = 3,
        owner: str | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.connections = connections
        self.policy = policy or RetryPolicy()
        self.pause_after_auth_failures = pause_after_auth_failures
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.stopping = asyncio.Event()
        self.quota_wait: dict[str, float] = {}
        self._lost_leases: set[str] = set()
        self._keeping = False
        self._kept: dict[str, _KeptLease] = {}
        self._let_go_after_run: set[str] = set()
        self._running: set[str] = set()

    async def _db(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

    # ------------------------------------------------------------------ a run

    async def run_zap(self, zap: BoundZap) -> RunResult:
        """Poll the zap once and deliver everything new, page by page."""
        started = time.monotonic()
        result = RunResult(zap.id)
        kept = self._holds(zap.id)
        if kept or self.owner is None:
            # The lease is ours already (or there are none): one read for all of it.
            self._lost_leases.discard(zap.id)
            if self.store.quick_reads:  # a local key lookup: cheaper than a thread hop
                start = self.store.run_start(zap.id)
            else:
                start = await self._db(self.store.run_start, zap.id)
            paused_reason, auth_failures = start.paused_reason, start.auth_failures
        else:
            start = None  # the cursor is read once the lease is taken
            paused_reason, auth_failures = await self._db(self.store.zap_flags, zap.id)
        if paused_reason:
            if kept:
                await self._let_go(zap.id)
            result.status, result.message = "paused", paused_reason
            return result
        wait_until = self.quota_wait.get(zap.connection or "")
        if wait_until and time.time() < wait_until:
            result.status = "skipped"
            result.message = "waiting for the service's API quota to renew"
            return result
        if start is None:
            if not await self._take_lease(zap.id):
                result.status, result.message = "skipped", "another daemon is running this zap"
                return result
            self._lost_leases.discard(zap.id)
            cursor = await self._db(self.store.get_cursor, zap.id)
        else:
            cursor = start.cursor
        run = RunRow(self, zap.id)
        heartbeat = (
            asyncio.create_task(self._keep_lease(zap.id))
            if self.owner and not self._keeping  # a daemon renews all its leases at once
            else None
        )
        interrupted: BaseException | None = None
        self._running.add(zap.id)
        try:
            await self._poll_and_deliver(zap, run, result, cursor)
        except BaseException as error:
            await self._handle_failure(zap, result, error)
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
                result.status = "interrupted"
                result.message = "stopped before the run finished; the rest is polled next time"
                interrupted = error
            elif isinstance(error, StoreUnusable):
                interrupted = error  # not the zap's fault: whoever runs the engine must stop
        else:
            if result.cut_short and result.status == "ok":
                result.status = "interrupted"
                result.message = (
                    "stopped between pages; whatever was not polled yet is polled next time"
                )
            if auth_failures:  # an idle run writes nothing it need not
                await self._db(self.store.clear_auth_failures, zap.id)
        finally:
            self._running.discard(zap.id)
            result.seconds = time.monotonic() - started
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
            idle = run.id is None and result.status == "ok"
            if not idle:  # an idle poll records no run
                await self._db(
                    self.store.finish_run, await run.get(), result.status, result.message
                )
            if self.owner and not (idle and self._keeps_after_run(zap.id)):
                await self._let_go(zap.id)
        log.info("%s", result.line())
        if interrupted is not None:
            raise interrupted  # recorded as interrupted; cancellation still propagates
        return result

    def _stoppable(self) -> RetryPolicy:
        """This engine's retry policy, giving up at once when the engine is asked to stop."""
        policy = self.policy
        return StoppableRetry(
            policy.attempts, policy.initial_wait, policy.max_wait, stopping=self.stopping
        )

    async def _take_lease(self, zap_id: str) -> bool:
        """Take the zap's lease; also from a daemon of this machine that crashed holding it."""
        assert self.owner is not None
        asked = time.monotonic()
        taken = await self._db(self.store.acquire_lease, zap_id, self.owner, self.lease_seconds)
        if not taken:
            holder = await self._db(self.store.lease_holder, zap_id)
            if holder is None or not crashed_here(holder):
                return False
            log.warning("zap %s: taking over the lease of %s, which is not running", zap_id, holder)
            asked = time.monotonic()
            taken = await self._db(
                self.store.acquire_lease, zap_id, self.owner, self.lease_seconds, replacing=holder
            )
        if taken and self._keeping:
            self._kept[zap_id] = _KeptLease(asked)
        return bool(taken)

    # ------------------------------------------------------------------ leases kept by a daemon

    @contextlib.asynccontextmanager
    async def keeping_leases(self) -> AsyncIterator[None]:
        """Inside, a zap's lease is kept from one run to the next: the daemon's way.

        A run then takes the lease only if this engine does not hold it yet, and keeps it
        after an idle poll (nothing found, nothing failed); a run that recorded
        something gives it up as before, so daemons sharing a store share the work
        when there is some. One batched renewal every third of ``lease_seconds``
        keeps every held lease alive (and stops, after its page, a run whose lease
        another daemon took). On the way out the leases are released; a run still in
        flight releases its own when it ends. Without an owner this does nothing.
        """
        if self.owner is None:
            yield
            return
        self._keeping = True
        renewer = asyncio.create_task(self._renew_kept())
        try:
            yield
        finally:
            self._keeping = False
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            idle = [zap_id for zap_id in self._kept if zap_id not in self._running]
            for zap_id in idle:
                del self._kept[zap_id]
            self._let_go_after_run.clear()
            if idle:
                try:
                    await self._db(self.store.release_leases, self.owner, idle)
                except Exception as error:  # they expire on their own
                    log.warning(
                        "could not release the leases of %d zap(s) (%s); they expire in %g s",
                        len(idle),
                        error,
                        self.lease_seconds,
                    )

    async def release_leases(self, zap_ids: Iterable[str]) -> None:
        """Give up the kept leases of ``zap_ids`` (zaps this daemon no longer runs).

        A zap with a run in flight gives its lease up when that run ends.
        """
        now: list[str] = []
        for zap_id in zap_ids:
            if zap_id in self._running:
                self._let_go_after_run.add(zap_id)
            elif self._kept.pop(zap_id, None) is not None:
                now.append(zap_id)
        if now and self.owner is not None:
            await self._db(self.store.release_leases, self.owner, now)

    @property
    def kept_leases(self) -> frozenset[str]:
        """The zaps whose lease this engine keeps between runs."""
        return frozenset(self._kept)

    def _holds(self, zap_id: str) -> bool:
        """Whether the zap's lease is kept here and was confirmed recently enough to trust.

        The renewal confirms it every third of ``lease_seconds``; one not confirmed for
        half of it (the store was slow, or failing) is taken again, which is also how
        a lease another daemon took meanwhile is noticed before the run starts.
        """
        lease = self._kept.get(zap_id)
        return lease is not None and time.monotonic() - lease.confirmed < self.lease_seconds / 2

    def _keeps_after_run(self, zap_id: str) -> bool:
        """Whether an idle run leaves the zap's lease held for the next run."""
        return self._keeping and zap_id in self._kept and zap_id not in self._let_go_after_run

    async def _let_go(self, zap_id: str) -> None:
        """Release the zap's lease (if it is still ours) and forget it was kept."""
        assert self.owner is not None
        self._kept.pop(zap_id, None)
        self._let_go_after_run.discard(zap_id)
        await self._db(self.store.release_lease, zap_id, self.owner)

    async def _renew_kept(self) -> None:
        """Renew every kept lease in one transaction, every third of ``lease_seconds``."""
        assert self.owner is not None
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._kept:
                continue
            snapshot = dict(self._kept)
            asked = time.monotonic()
            try:
                still_ours = await self._db(
                    self.store.renew_leases, self.owner, list(snapshot), self.lease_seconds
                )
            except Exception as error:  # a store hiccup: the next round tries again
                log.warning("could not renew the leases of %d zap(s) (%s)", len(snapshot), error)
                continue
            for zap_id, lease in snapshot.items():
                if self._kept.get(zap_id) is not lease:
                    continue  # given up, or taken again, while the renewal ran
                if zap_id in still_ours:
                    lease.confirmed = asked
                    continue
                del self._kept[zap_id]
                self._lost_leases.add(zap_id)
                running = zap_id in self._running
                log.warning(
                    "zap %s: another daemon took the lease%s",
                    zap_id,
                    "; this run stops" if running else "",
                )

    async def _keep_lease(self, zap_id: str) -> None:
        """Renew the lease while the run goes on, so that it never expires under a long page."""
        assert self.owner is not None
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                kept = await self._db(
                    self.store.renew_lease, zap_id, self.owner, self.lease_seconds
                )
            except Exception as error:  # a store hiccup: the next beat tries again
                log.warning("zap %s: could not renew the lease (%s)", zap_id, error)
                continue
            if not kept:
                log.warning("zap %s: another daemon took the lease; this run stops", zap_id)
                self._lost_leases.add(zap_id)
                return

    async def _handle_failure(self, zap: BoundZap, result: RunResult, error: BaseException) -> None:
        result.status = "failed"
        if isinstance(error, DeliveryAborted) and error.__cause__ is not None:
            error = error.__cause__
        if isinstance(error, AuthError):
            count = await self._db(self.store.record_auth_failure, zap.id)
            result.message = f"authentication failed: {error}"
            if count >= self.pause_after_auth_failures:
                reason = (
                    f"paused after {count} runs in a row failed to authenticate ({error}); "
                    f"fix the connection, then run `zaplite resume {zap.id}`"
                )
                await self._db(self.store.pause, zap.id, reason)
                result.status, result.message = "paused", reason
        elif isinstance(error, QuotaExceeded):
            wait = error.retry_after if error.retry_after is not None else 3600.0
            self.quota_wait[zap.connection or ""] = time.time() + wait
            result.message = f"{error} Polling this connection waits {int(wait)} s."
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
                f"the plugin trigger {zap.trigger.app}.{zap.trigger.name} raised "
                f"{type(error).__name__}: {error}"
            )

    async def _poll_and_deliver(
        self, zap: BoundZap, run: RunRow, result: RunResult, cursor: Any
    ) -> None:
        cursor_box = {"cursor": cursor}

        async def poll_from_checkpoint() -> None:
            connection = await self.connections.get(zap.connection)
            state = StoreState(self.store, zap.id)
            ctx = PollContext(
                zap_id=zap.id,
                params=zap.trigger_params,
                connection=connection,
                cursor=cursor_box["cursor"],
                start=zap.zap.trigger.start,
                state=state,
                log=logging.getLogger(f"zaplite.zap.{zap.id}"),
            )
            gate = AheadGate()
            delivery = Delivery(zap, self.connections, self._stoppable(), gate)
            # The next page is fetched and mapped while this one is delivered and recorded.
            pages_read = state.noting(iterate(zap.trigger.poll, ctx))
            pages_ahead = prefetch(self._prepared(zap, delivery, pages_read))
            async with aclosing(pages_ahead) as pages:
                while True:
                    with gate.waiting():
                        ahead = await anext(pages, None)
                    if ahead is None:
                        break
                    page = ahead.page
                    await self._deliver_page(
                        zap, run, ahead, delivery, result, cursor_box["cursor"]
                    )
                    cursor_box["cursor"] = page.cursor
                    if self.stopping.is_set() or zap.id in self._lost_leases:
                        result.cut_short = True
                        return

        def note(error: BaseException, attempt: int) -> None:
            log.warning("zap %s: poll attempt %d failed (%s), retrying", zap.id, attempt, error)

        await self._stoppable().call(poll_from_checkpoint, note)

    async def _prepared(
        self, zap: BoundZap, delivery: Delivery, pages: AsyncIterator[Any]
    ) -> AsyncIterator[PreparedPage]:
        """The trigger's pages, each with its records keyed and prepared ahead of delivery."""
        try:
            async for page in pages:
                if not isinstance(page, Page):
                    raise PluginError(
                        f"the trigger {zap.trigger.app}.{zap.trigger.name} yielded "
                        f"{type(page).__name__}, not a zaplite.Page"
                    )
                key_of = zap.trigger.key_of
                items = [WorkItem(key=key_of(record), record=record) for record in page.records]
                start = delivery.first_action
                for at in range(0, len(items), _AHEAD_CHUNK):
                    # In slices, each while the page being delivered waits for answers.
                    await delivery.gate.opened()
                    delivery.prepare_ahead(items[at : at + _AHEAD_CHUNK])
                yield PreparedPage(page, items, start)
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
    ) -> None:
        page = ahead.page
        result.pages += 1
        if page.usage:
            result.usage = page.usage
        known = await self._db(self.store.known_keys, zap.id, [item.key for item in ahead.items])
        fresh: list[WorkItem] = []
        taken: set[str] = set()
        for item in ahead.items:
            if item.key in known or item.key in taken:
                result.duplicates += 1
                continue
            taken.add(item.key)
            fresh.append(item)
        try:
            items = await delivery.run(fresh, start=ahead.start) if fresh else []
        except BaseException as error:
            if is_transient(error):
                raise DeliveryAborted(str(error)) from error
            raise
        tasks = [item.task() for item in items]
        if not tasks and not page.state and page.cursor == saved_cursor:
            return  # nothing new and nothing moved: no write at all (the idle poll's case)
        overlap = zap.trigger.overlap_for(zap.trigger_params)
        forget_before = page.watermark - overlap if page.watermark else None
        # The gate stays shut while the page is recorded: its thread needs the GIL, and
        # slices of the next page on the loop would slow it (see zaplite/engine/gate.py).
        ids = await self._db(
            self.store.commit_page,
            zap.id,
            await run.get() if tasks else run.id,
            tasks=tasks,
            cursor=page.cursor,
            keys=[item.key for item in items],
            watermark=page.watermark,
            forget_before=forget_before,
            state=page.state,
        )
        result.task_ids.extend(ids)
        for item in items:
            result.found += 1
            if item.status == "success":
                result.delivered += 1
            elif item.status == "failed":
                result.failed += 1
            else:
                result.filtered += 1

    # ------------------------------------------------------------------ replay

    async def replay(self, task_id: int, zaps: dict[str, BoundZap]) -> str:
        """Run a stored task's record through its zap's steps again; returns the new status."""
        task = await self._db(self.store.get_task, task_id)
        if task is None:
            raise UsageError(f"There is no task {task_id}.")
        zap = zaps.get(task.zap_id)
        if zap is None:
            raise UsageError(
                f"Task {task_id} belongs to zap {task.zap_id!r}, which is not loaded; "
                "restore its file to replay it."
            )
        item = WorkItem(key=task.record_key, record=task.record)
        try:
            await Delivery(zap, self.connections, self.policy).run([item])
        except (AuthError, QuotaExceeded) as error:
            item.status, item.error = "failed", str(error)
        except BaseException as error:
            if not is_transient(error):
                raise
            item.status, item.error = "failed", f"gave up after retries: {error}"
        await self._db(
            self.store.update_task, task_id, status=item.status, steps=item.steps, error=item.error
        )
        return item.status or "success"

    # ------------------------------------------------------------------ testing zaps

    async def test_trigger(self, zap: BoundZap, limit: int = 3) -> list[Record]:
        """Fetch up to ``limit`` recent records the trigger would see; keep them as samples."""
        trigger = zap.trigger
        if trigger.recent is None:
            records = [dict(trigger.sample)] if trigger.sample else []
        else:
            ctx = PollContext(
                zap_id=zap.id,
                params=zap.trigger_params,
                connection=await self.connections.get(zap.connection),
                cursor=None,
                start="all",
                state=StoreState(self.store, zap.id),
                log=logging.getLogger(f"zaplite.zap.{zap.id}"),
                limit=limit,
            )
            records = list(
                await self.policy.call(lambda: call(trigger.recent, ctx))  # type: ignore[arg-type]
            )[:limit]
        await self._db(self.store.save_samples, zap.id, records)
        return records

    async def sample_record(self, zap: BoundZap) -> tuple[Record, str]:
        """The record ``test-step`` maps: the newest kept sample, or the trigger's built-in sample."""
        samples = await self._db(self.store.get_samples, zap.id)
        if samples:
            return samples[0], "the sample kept by `zaplite test-trigger`"
        return dict(
            zap.trigger.sample
        ), f"the built-in sample of {zap.trigger.app}.{zap.trigger.name}"

    async def test_step(
        self, zap: BoundZap, step_id: str | None = None, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Map a sample record into a step's params, show the request, and send it unless ``dry_run``."""
        record, source = await self.sample_record(zap)
        actions = [step for step in zap.steps if not step.is_filter]
        if not actions:
            raise UsageError(f"{zap.file}: the zap has no action step to test.")
        if step_id is None:
            target = actions[0]
        else:
            found = [step for step in zap.steps if step.id == step_id]
            if not found:
                ids = ", ".join(step.id for step in zap.steps)
                raise UsageError(f"{zap.file}: there is no step {step_id!r} (steps: {ids}).")
            target = found[0]
            if target.is_filter:
                raise UsageError(f"{zap.file}: step {step_id!r} is a filter, not an action.")
        item = WorkItem(key="test", record=record)
        delivery = Delivery(zap, self.connections, self.policy)
        report: dict[str, Any] = {"zap": zap.id, "step": target.id, "record_source": source}
        for step in zap.steps:
            if step is target:
                break
            if step.is_filter:
                delivery._filter(step, [item])
            else:
                assert step.action is not None
                item.outputs[step.id] = dict(step.action.sample_output)
        assert target.action is not None
        params, rendered, problem = delivery.prepare(target, item)
        report["params"] = rendered
        if params is None:
            report["status"] = "invalid"
            report["error"] = problem
            return report
        ctx_connection = await self.connections.get(target.connection)
        ctx = ActionContext(
            zap_id=zap.id, step_id=target.id, connection=ctx_connection, log=delivery.log
        )
        if target.action.preview_request is not None:
            report["request"] = await call(target.action.preview_request, ctx, [params])
        else:
            report["request"] = params.model_dump(mode="json")
        if dry_run:
            report["status"] = "dry-run"
            return report
        item.status = None
        try:
            if target.action.perform_batch is not None:
                outcomes = await call(target.action.perform_batch, ctx, [params])
                outcome = outcomes[0]
            else:
                outcome = await call(target.action.perform, ctx, params)
        except ZapliteError as error:
            report["status"], report["error"] = "failed", str(error)
            return report
        if isinstance(outcome, Failure):
            report["status"], report["error"] = "failed", outcome.message
            report["code"] = outcome.code
        else:
            output = outcome.output if isinstance(outcome, Success) else outcome
            report["status"], report["response"] = "success", output
        return report
