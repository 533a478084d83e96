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

__all__ = ["SampleRecord", "TriggerRecords", "fetch_samples", "sample_record", "try_step"]


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
    sample is returned instead, and the result says so. It is never kept: ``test-step``
    sends only real records.
    """
    trigger = zap.trigger
    if trigger.instant:
        return await _received_samples(engine, zap, limit)
    built_in = trigger.recent is None
    if built_in:
        return TriggerRecords([dict(trigger.sample)] if trigger.sample else [], True)
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
    return TriggerRecords(records, built_in_sample=False)


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
    records = [dict(trigger.sample)] if trigger.sample else []  # shown, never kept
    return TriggerRecords(records, built_in_sample=True, note=note)


@dataclass(frozen=True)
class SampleRecord:
    """The record ``test-step`` maps, where it came from, and whether it may be sent for real."""

    record: Record
    source: str
    real: bool
    """False for the trigger's built-in sample: it is shown, never sent."""


async def sample_record(engine: Engine, zap: BoundZap) -> SampleRecord:
    """The newest sample ``test-trigger`` kept, else the trigger's built-in sample (not real).

    A kept sample equal to the built-in one (kept by an older zaplite) is not real either.
    """
    samples = await asyncio.to_thread(engine.store.get_samples, zap.id)
    built_in = dict(zap.trigger.sample)
    if samples and not (built_in and samples[0] == built_in):
        return SampleRecord(samples[0], "the sample kept by `zaplite test-trigger`", True)
    return SampleRecord(
        built_in, f"the built-in sample of {zap.trigger.app}.{zap.trigger.name}", False
    )


def _no_real_sample(zap: BoundZap) -> UsageError:
    """Why ``test-step`` will not send, and how to get a record it will send."""
    trigger = f"{zap.trigger.app}.{zap.trigger.name}"
    if zap.trigger.instant:
        return UsageError(
            f"{zap.id}: no record received yet is kept, and test-step sends only a real record; "
            f"{trigger} is instant: send it a test message (see the README), then run "
            f"`zaplite test-trigger {zap.id}` (or add --dry-run to map the built-in sample "
            "without sending it)."
        )
    if zap.trigger.recent is None:
        return UsageError(
            f"{zap.id}: {trigger} cannot fetch real records, and test-step sends only a real "
            f"record, never a built-in sample; `zaplite test-step {zap.id} --dry-run` shows the "
            "request without sending it."
        )
    return UsageError(
        f"{zap.id}: no sample record is kept, and test-step sends only a real record; "
        f"`zaplite test-trigger {zap.id}` fetches one (or add --dry-run to map the built-in "
        "sample without sending it)."
    )


async def try_step(
    engine: Engine, zap: BoundZap, step_id: str | None = None, *, dry_run: bool = False
) -> dict[str, Any]:
    """Take a sample record through the zap's steps up to one action; send it unless ``dry_run``.

    Filters before the step run in order on the sample, each verdict in the report's
    ``filters``; one that stops the record ends the test there (status ``filtered``),
    nothing sent. Only a real record (kept by ``test-trigger``) is ever sent.
    """
    sample = await sample_record(engine, zap)
    if not sample.real and not dry_run:
        raise _no_real_sample(zap)
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
    item = WorkItem(key="test", record=sample.record)
    delivery = Delivery(zap, engine.connections, engine.policy)
    report: dict[str, Any] = {
        "zap": zap.id,
        "step": target.id,
        "record_source": sample.source,
        "filters": [],
    }
    for step in zap.steps:
        if step is target:
            break
        if step.is_filter:
            delivery.filter(step, [item])
            verdict = item.steps[-1]
            passed = verdict["status"] == "passed"
            report["filters"].append(
                {"step": step.id, "passed": passed, "reason": verdict["reason"]}
            )
            if not passed:
                report["status"] = "filtered"
                report["stopped_at"] = step.id
                return report
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
