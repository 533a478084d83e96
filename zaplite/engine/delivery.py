"""Running a zap's steps over a page of records: filter, map (templates), act.

The engine hands each page to :meth:`Delivery.prepare` (the steps that need no I/O,
done while the page before it is being sent) and then the records it has not
delivered before to :meth:`Delivery.deliver`. Records move through the steps together, so an action with a batch perform gets
them in chunks of its batch size; an action without one gets them one by one, in
the trigger's order. Each record ends as a task: success, failed or filtered.

Transient faults (after retries) and authentication failures are raised, not
recorded: the page is then not committed and the records are polled again, so a
fault never turns into a lost record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from zaplite.engine.gate import AheadGate, OpenGate
from zaplite.errors import AuthError, PermanentError, PluginError, QuotaExceeded
from zaplite.mapping import filters
from zaplite.plugin.api import ActionContext, Failure, Outcome, Page, Record, Success
from zaplite.plugin.calls import call, describe_error
from zaplite.project.binding import BoundStep, BoundZap
from zaplite.retry import RetryPolicy, is_transient
from zaplite.store import LeaseLost, NewTask

__all__ = ["Delivery", "PreparedPage", "WorkItem"]

log = logging.getLogger("zaplite.engine.delivery")


@dataclass(slots=True)
class WorkItem:
    """One record on its way through the steps."""

    key: str
    record: Record
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    error: str | None = None
    at: int = 0
    """The index of the next step this record has to go through."""
    ready: tuple[BaseModel | None, Any, str | None] | None = None
    """The params of the next action step, prepared ahead (see :meth:`Delivery.prepare`)."""

    @property
    def context(self) -> dict[str, Any]:
        """What templates and filters see: the trigger record and earlier steps' outputs."""
        return {"trigger": self.record, "steps": self.outputs}

    def task(self, attempts: int = 1) -> NewTask:
        """The task to record for this item."""
        return NewTask(
            record_key=self.key,
            record=self.record,
            status=self.status or "success",
            steps=self.steps,
            error=self.error,
            attempts=attempts,
        )


_AHEAD_CHUNK = 200
"""Records prepared ahead between two chances for the page being delivered to go on."""


@dataclass(slots=True)
class PreparedPage:
    """A trigger page with its records keyed and prepared up to their first action step."""

    page: Page
    items: list[WorkItem]


FAILURES_LOGGED = 10
"""Failed records of one run (or replay) logged at WARNING; the rest at DEBUG."""


class Delivery:
    """Runs steps over records for one zap, with a retry policy and the open connections.

    With ``ahead``, :meth:`prepare` works on the next page only while the page being
    delivered waits for its answers (see :mod:`zaplite.engine.gate`): the engine
    delivers and prepares with one ``Delivery``, and waits for its next page inside
    :meth:`waiting`. ``before_retry`` is awaited before each retry of a perform; when
    it raises :class:`~zaplite.store.LeaseLost` the delivery stops and nothing is sent.
    """

    def __init__(
        self,
        zap: BoundZap,
        connections: Any,
        policy: RetryPolicy,
        *,
        ahead: bool = False,
        log_failures: bool = True,
        before_retry: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.zap = zap
        self.connections = connections
        self.policy = policy
        self.before_retry = before_retry
        """Awaited before every retry of a perform; the engine's check that the lease is still ours."""
        self._gate = AheadGate() if ahead else OpenGate()
        self.log = logging.getLogger(f"zaplite.zap.{zap.id}")
        self._list_adapters: dict[int, TypeAdapter[list[Any]] | None] = {}
        self._log_failures = log_failures
        self._failures_logged = 0

    @property
    def first_action(self) -> int:
        """The index of the zap's first action step (the number of steps if it has none)."""
        return next(
            (index for index, step in enumerate(self.zap.steps) if not step.is_filter),
            len(self.zap.steps),
        )

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around the engine's wait for the next page: work prepared ahead may run meanwhile."""
        with self._gate.waiting():
            yield

    async def prepare(self, page: Page) -> PreparedPage:
        """Key a page's records and run the steps that need no I/O, for a page not yet delivered.

        That is the filters before the first action step, and the rendering and
        validation of that action's params. Nothing is sent, so the engine does this
        for page N+1 while page N is being sent and recorded, and a crash still
        re-sends at most the page in flight. The work is done in slices, each while the
        page being delivered waits for its answers.
        """
        key_of = self.zap.trigger.key_of
        items = [WorkItem(key=key_of(record), record=record) for record in page.records]
        for at in range(0, len(items), _AHEAD_CHUNK):
            await self._gate.opened()
            self._prepare_slice(items[at : at + _AHEAD_CHUNK])
        return PreparedPage(page, items)

    def _prepare_slice(self, items: Sequence[WorkItem]) -> None:
        start = self.first_action
        alive = [item for item in items if item.status is None]
        for step in self.zap.steps[:start]:
            self.filter(step, alive)
            alive = [item for item in alive if item.status is None]
        for item in alive:
            item.at = start
        if start < len(self.zap.steps):
            step = self.zap.steps[start]
            for item, ready in zip(alive, self.prepare_many(step, alive), strict=True):
                item.ready = ready

    async def deliver(self, items: Sequence[WorkItem]) -> list[WorkItem]:
        """Take every item through the steps it has yet to go through; returns them with their status set."""
        start = min((item.at for item in items), default=len(self.zap.steps))
        for index in range(start, len(self.zap.steps)):
            step = self.zap.steps[index]
            alive = [item for item in items if item.status is None and item.at <= index]
            if not alive:
                continue
            if step.is_filter:
                self.filter(step, alive)
            else:
                await self._act(step, alive)
            for item in alive:
                item.at = index + 1
        for item in items:
            if item.status is None:
                item.status = "success"
        return list(items)

    def filter(self, step: BoundStep, items: Sequence[WorkItem]) -> None:
        """Evaluate a filter step for each item; one that does not pass ends as ``filtered``."""
        for item in items:
            passed, reason = filters.evaluate(step.conditions or [], item.context)
            item.steps.append(
                {"id": step.id, "status": "passed" if passed else "filtered", "reason": reason}
            )
            if not passed:
                item.status = "filtered"

    def _fail(self, item: WorkItem, step: BoundStep, message: str, params: Any = None) -> None:
        item.status = "failed"
        prefix = f"step {step.id!r}: "
        item.error = message if message.startswith(prefix) else prefix + message
        self._log_failure(item)
        item.steps.append(
            {"id": step.id, "status": "failed", "input": params, "output": None, "error": message}
        )

    def _log_failure(self, item: WorkItem) -> None:
        """Log a failed record by zap and record key: the first few of a run at WARNING."""
        self._failures_logged += 1
        if not self._log_failures or self._failures_logged > FAILURES_LOGGED + 1:
            self.log.debug("zap %s, record %s: %s", self.zap.id, item.key, item.error)
        elif self._failures_logged <= FAILURES_LOGGED:
            self.log.warning("zap %s, record %s: %s", self.zap.id, item.key, item.error)
        else:
            self.log.warning(
                "zap %s: more records failed; `zaplite history --zap %s --status failed` "
                "lists them all",
                self.zap.id,
                self.zap.id,
            )

    def _succeed(self, item: WorkItem, step: BoundStep, params: Any, output: Record) -> None:
        output = dict(output or {})
        item.outputs[step.id] = output
        item.steps.append(
            {"id": step.id, "status": "success", "input": params, "output": output, "error": None}
        )

    def prepare_params(
        self, step: BoundStep, item: WorkItem
    ) -> tuple[BaseModel | None, Any, str | None]:
        """Render the step's params for this record and validate them with the action's model."""
        return self._validate(step, self._renderer(step)(item.context))

    def prepare_many(
        self, step: BoundStep, items: Sequence[WorkItem]
    ) -> list[tuple[BaseModel | None, Any, str | None]]:
        """:meth:`prepare_params` for several records, their params validated in one call.

        One pydantic call for the whole list is cheaper than one per record. If any
        record's params are refused,
        or the model raises, each record is validated on its own, so each gets its own
        outcome and reason, exactly as :meth:`prepare_params` gives them.
        """
        renderer = self._renderer(step)
        rendered = [renderer(item.context) for item in items]
        adapter = self._list_adapter(step) if len(rendered) > 1 else None
        if adapter is not None:
            try:
                models = adapter.validate_python(rendered)
            except Exception:  # each record is validated again, on its own
                pass
            else:
                return [
                    (model, params, None) for model, params in zip(models, rendered, strict=True)
                ]
        return [self._validate(step, params) for params in rendered]

    def _renderer(self, step: BoundStep) -> Callable[[Any], Any]:
        return step.render  # compiled once per bound step, not once per run

    def _list_adapter(self, step: BoundStep) -> TypeAdapter[list[Any]] | None:
        """A validator of a list of the action's params, or ``None`` where it would differ.

        A params model that overrides ``model_validate`` is always called one record at a
        time, so its override runs as the plugin meant it to.
        """
        key = id(step)
        if key not in self._list_adapters:
            assert step.action is not None
            model = step.action.params
            plain = getattr(model.model_validate, "__func__", None) is getattr(
                BaseModel.model_validate, "__func__", None
            )
            self._list_adapters[key] = TypeAdapter(list[model]) if plain else None  # type: ignore[valid-type]
        return self._list_adapters[key]

    def _validate(self, step: BoundStep, rendered: Any) -> tuple[BaseModel | None, Any, str | None]:
        assert step.action is not None
        try:
            return step.action.params.model_validate(rendered), rendered, None
        except ValidationError as error:
            first = error.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            reason = str(first.get("msg", "is not valid"))
            return None, rendered, f"params.{loc}: {reason}" if loc else reason
        except Exception as error:  # a bug in the plugin's params model: this record fails
            return None, rendered, self._failure_of(step, error).message

    async def _act(self, step: BoundStep, items: Sequence[WorkItem]) -> None:
        action = step.action
        assert action is not None
        ready: list[tuple[WorkItem, BaseModel, Any]] = []
        for item in items:
            if item.ready is not None:
                (params, rendered, problem), item.ready = item.ready, None
            else:
                params, rendered, problem = self.prepare_params(step, item)
            if params is None:
                self._fail(item, step, problem or "params are not valid", rendered)
            else:
                ready.append((item, params, rendered))
        if not ready:
            return
        ctx = ActionContext(
            zap_id=self.zap.id,
            step_id=step.id,
            connection=await self.connections.get(step.connection),
            log=self.log,
        )
        if action.perform_batch is not None:
            size = max(1, action.batch_size)
            chunks = [ready[i : i + size] for i in range(0, len(ready), size)]
            with self._gate.waiting():
                results = await asyncio.gather(
                    *(self._perform_batch(step, ctx, chunk) for chunk in chunks),
                    return_exceptions=True,
                )
            fatal = next((r for r in results if isinstance(r, BaseException)), None)
            if fatal is not None:
                raise fatal
        else:
            with self._gate.waiting():
                for entry in ready:
                    outcome = await self._perform_one(step, ctx, entry[1])
                    self._apply(step, entry, outcome)

    def _apply(
        self, step: BoundStep, entry: tuple[WorkItem, BaseModel, Any], outcome: Outcome
    ) -> None:
        item, _params, rendered = entry
        if isinstance(outcome, Success):
            self._succeed(item, step, rendered, outcome.output)
        else:
            code = f" (code {outcome.code})" if outcome.code is not None else ""
            self._fail(item, step, f"{outcome.message}{code}", rendered)

    def _on_retry(self, step: BoundStep) -> Any:
        def note(error: BaseException, attempt: int) -> None:
            self.log.warning(
                "zap %s step %s: attempt %d failed (%s), retrying",
                self.zap.id,
                step.id,
                attempt,
                error,
            )

        return note

    def _guarded(self, perform: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        """``perform`` with :attr:`before_retry` awaited before each attempt after the first."""
        guard = self.before_retry
        if guard is None:
            return perform
        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                await guard()
            return await perform()

        return attempt

    async def _perform_batch(
        self, step: BoundStep, ctx: ActionContext, chunk: list[tuple[WorkItem, BaseModel, Any]]
    ) -> None:
        action = step.action
        assert action is not None and action.perform_batch is not None
        params = [entry[1] for entry in chunk]
        try:
            outcomes = await self.policy.call(
                self._guarded(lambda: call(action.perform_batch, ctx, params)),
                self._on_retry(step),
            )
        except (AuthError, QuotaExceeded, LeaseLost):
            raise
        except BaseException as error:
            if is_transient(error) or isinstance(error, asyncio.CancelledError):
                raise
            outcome = self._failure_of(step, error)
            for entry in chunk:
                self._apply(step, entry, outcome)
            return
        outcomes = list(outcomes or [])
        if len(outcomes) != len(chunk):
            message = (
                f"the plugin {step.plugin!r} returned {len(outcomes)} outcomes for "
                f"{len(chunk)} records from the batch perform of {action.app}.{action.name}"
            )
            for entry in chunk:
                self._apply(step, entry, Failure(message))
            return
        for entry, outcome in zip(chunk, outcomes, strict=True):
            if not isinstance(outcome, Success | Failure):
                outcome = Failure(
                    f"the plugin {step.plugin!r} returned {type(outcome).__name__}, not Success "
                    f"or Failure, from the batch perform of {action.app}.{action.name}"
                )
            self._apply(step, entry, outcome)

    async def _perform_one(self, step: BoundStep, ctx: ActionContext, params: BaseModel) -> Outcome:
        action = step.action
        assert action is not None
        try:
            output = await self.policy.call(
                self._guarded(lambda: call(action.perform, ctx, params)), self._on_retry(step)
            )
        except (AuthError, QuotaExceeded, LeaseLost):
            raise
        except BaseException as error:
            if is_transient(error) or isinstance(error, asyncio.CancelledError):
                raise
            return self._failure_of(step, error)
        if isinstance(output, Success | Failure):
            return output
        if output is not None and not isinstance(output, dict):
            output = {"result": output}
        return Success(output or {})

    def _failure_of(self, step: BoundStep, error: BaseException) -> Failure:
        if isinstance(error, PermanentError | PluginError):
            return Failure(str(error), getattr(error, "code", None))
        action = step.action
        where = f"the action {action.app}.{action.name}" if action else f"step {step.id!r}"
        self.log.debug("plugin error in %s", where, exc_info=error)
        return Failure(f"the plugin {step.plugin!r} failed in {where}: {describe_error(error)}")
