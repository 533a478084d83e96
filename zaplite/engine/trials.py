"""Trying a zap out before it runs: ``test-trigger`` fetches samples, ``test-step`` maps and sends one.

Neither moves a cursor or records a task: they only read the trigger's recent records
(kept as the zap's samples) and, for ``test-step``, send one request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from zaplite.engine.delivery import Delivery, WorkItem
from zaplite.engine.run import Engine, StoreState
from zaplite.errors import UsageError, ZapliteError
from zaplite.plugin.api import ActionContext, Failure, PollContext, Record, Success
from zaplite.plugin.calls import call
from zaplite.project.binding import BoundZap

__all__ = ["TriggerRecords", "fetch_samples", "sample_record", "try_step"]


@dataclass(frozen=True)
class TriggerRecords:
    """What ``test-trigger`` shows: the records, and whether they are the trigger's built-in sample."""

    records: list[Record]
    built_in_sample: bool
    """True when the trigger cannot fetch real records (it has no ``recent`` function)."""
    note: str | None = None
    """What to do to get real records, when there are none yet (an instant trigger)."""


async def fetch_samples(engine: Engine, zap: BoundZap, limit: int = 3) -> TriggerRecords:
    """Fetch up to ``limit`` recent records the trigger would see; keep them as samples.

    A trigger without a ``recent`` function cannot fetch real records: its built-in
    sample is kept and returned instead, and the result says so.
    """
    trigger = zap.trigger
    if trigger.instant:
        return await _received_samples(engine, zap, limit)
    built_in = trigger.recent is None
    if built_in:
        records = [dict(trigger.sample)] if trigger.sample else []
    else:
        ctx = PollContext(
            zap_id=zap.id,
            params=zap.trigger_params,
            connection=await engine.connections.get(zap.connection),
            cursor=None,
            start="all",
            state=StoreState(engine.store, zap.id),
            log=logging.getLogger(f"zaplite.zap.{zap.id}"),
            limit=limit,
        )
        recent = trigger.recent
        records = list(await engine.policy.call(lambda: call(recent, ctx)))[:limit]
    await asyncio.to_thread(engine.store.save_samples, zap.id, records)
    return TriggerRecords(records, built_in_sample=built_in)


async def _received_samples(engine: Engine, zap: BoundZap, limit: int) -> TriggerRecords:
    """An instant trigger's samples: the records it most recently received, or its built-in one."""
    records = await asyncio.to_thread(engine.store.recent_received, zap.id, limit)
    if records:
        await asyncio.to_thread(engine.store.save_samples, zap.id, records)
        return TriggerRecords(records, built_in_sample=False)
    trigger = zap.trigger
    note = (
        f"{zap.id} has received nothing yet: its trigger {trigger.app}.{trigger.name} is "
        "instant, so records arrive when the service sends them to the daemon's HTTP server "
        "(`zaplite run --http`); send a test message (see the README), then run this again"
    )
    records = [dict(trigger.sample)] if trigger.sample else []
    await asyncio.to_thread(engine.store.save_samples, zap.id, records)
    return TriggerRecords(records, built_in_sample=True, note=note)


async def sample_record(engine: Engine, zap: BoundZap) -> tuple[Record, str]:
    """The record ``test-step`` maps: the newest kept sample, or the trigger's built-in sample."""
    samples = await asyncio.to_thread(engine.store.get_samples, zap.id)
    if samples:
        return samples[0], "the sample kept by `zaplite test-trigger`"
    return dict(zap.trigger.sample), f"the built-in sample of {zap.trigger.app}.{zap.trigger.name}"


async def try_step(
    engine: Engine, zap: BoundZap, step_id: str | None = None, *, dry_run: bool = False
) -> dict[str, Any]:
    """Map a sample record into a step's params, show the request, and send it unless ``dry_run``."""
    record, source = await sample_record(engine, zap)
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
    delivery = Delivery(zap, engine.connections, engine.policy)
    report: dict[str, Any] = {"zap": zap.id, "step": target.id, "record_source": source}
    for step in zap.steps:
        if step is target:
            break
        if step.is_filter:
            delivery.filter(step, [item])
        else:
            assert step.action is not None
            item.outputs[step.id] = dict(step.action.sample_output)
    assert target.action is not None
    params, rendered, problem = delivery.prepare_params(target, item)
    report["params"] = rendered
    if params is None:
        report["status"] = "invalid"
        report["error"] = problem
        return report
    ctx = ActionContext(
        zap_id=zap.id,
        step_id=target.id,
        connection=await engine.connections.get(target.connection),
        log=delivery.log,
    )
    if target.action.preview_request is not None:
        report["request"] = await call(target.action.preview_request, ctx, [params])
    else:
        report["request"] = params.model_dump(mode="json")
    if dry_run:
        report["status"] = "dry-run"
        return report
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
