"""A small in-memory app for the engine's tests: a trigger over a list, two actions into a sink.

It is written exactly as a third-party plugin would be, against the public API only.
Services are looked up by the connection's ``name`` in :data:`SERVICES`, so a test
holds the same objects the plugin talks to.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from zaplite import (
    ActionContext,
    App,
    AuthError,
    Failure,
    Page,
    PermanentError,
    PollContext,
    Success,
    hookimpl,
)


@dataclass
class MemoryService:
    """The fake service: a source of records and a sink of deliveries, with fault switches."""

    records: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    poll_faults: list[Exception] = field(default_factory=list)
    send_faults: list[Exception] = field(default_factory=list)
    polls: int = 0
    poll_times: list[float] = field(default_factory=list)
    """``time.time()`` at the start of each poll."""
    sends: int = 0
    before_send: Callable[[dict[str, Any]], None] | None = None
    """Called with each item just before it is delivered (a test's probe)."""
    clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, **fields: Any) -> dict[str, Any]:
        """Create a record (its id and creation time are set here)."""
        self.clock += timedelta(seconds=1)
        record = {"id": f"r{next(self._ids)}", "created": self.clock.isoformat(), **fields}
        self.records.append(record)
        return record

    def receive(self, params: BaseModel) -> dict[str, Any]:
        """Deliver one item, or raise the next injected fault."""
        self.sends += 1
        if self.send_faults:
            raise self.send_faults.pop(0)
        item = params.model_dump()
        if self.before_send is not None:
            self.before_send(item)
        if item.get("to") == "reject":
            raise PermanentError("the sink refused the item: 'to' may not be reject", code=422)
        self.received.append(item)
        return {"accepted": True, "position": len(self.received)}


SERVICES: dict[str, MemoryService] = {}


class MemoryConnection(BaseModel):
    """Settings of a memory connection: which service, and a secret to prove masking."""

    model_config = ConfigDict(extra="forbid")
    name: str = "default"
    token: SecretStr | None = None


def connect(settings: MemoryConnection) -> MemoryService:
    """The service named by the settings."""
    if settings.token is not None and settings.token.get_secret_value() == "bad-token":
        raise AuthError("the memory service refused the token")
    return SERVICES.setdefault(settings.name, MemoryService())


def test_connection(service: MemoryService) -> str:
    """Pretend to sign in."""
    return f"reached a memory service holding {len(service.records)} records"


app = App(
    "memory",
    label="Memory",
    description="An in-memory service for tests.",
    connection=MemoryConnection,
    connect=connect,
    test=test_connection,
)


class NewItemParams(BaseModel):
    """Params of the new_item trigger."""

    model_config = ConfigDict(extra="forbid")
    page_size: int = 2
    kind: str | None = None
    repeat: int = 0
    """Each page also yields again the last ``repeat`` records of the page before."""
    page_delay: float = 0.0
    """Seconds the service takes to produce each page after the first (a slow query)."""


@app.trigger(
    "new_item",
    params=NewItemParams,
    label="New item",
    dedup_key="id",
    sample={"id": "r0", "created": "2026-01-01T00:00:00+00:00", "name": "Sample", "amount": 1},
    output_fields=["id", "created", "name", "amount", "kind", "owner.name"],
    recent=lambda ctx: list(reversed(ctx.connection.records))[: ctx.limit],
)
def new_item(ctx: PollContext) -> Iterator[Page]:
    """Records added to the service, oldest first, a page of ``page_size`` at a time."""
    service: MemoryService = ctx.connection
    service.polls += 1
    service.poll_times.append(time.time())
    if service.poll_faults:
        raise service.poll_faults.pop(0)
    records = [r for r in service.records if ctx.params.kind in (None, r.get("kind"))]
    if ctx.cursor is None:
        if ctx.start == "now":
            yield Page(records=[], cursor=len(service.records))
            return
        if ctx.start == "all":
            position = 0
        else:
            position = sum(
                1 for r in service.records if datetime.fromisoformat(r["created"]) < ctx.start
            )
    else:
        position = int(ctx.cursor)
    pending = [(i, r) for i, r in enumerate(service.records) if i >= position and r in records]
    size = ctx.params.page_size
    for start in range(0, len(pending), size):
        if start and ctx.params.page_delay:
            time.sleep(ctx.params.page_delay)
        chunk = pending[max(0, start - ctx.params.repeat) : start + size]
        yield Page(records=[dict(r) for _, r in chunk], cursor=chunk[-1][0] + 1)


class SendParams(BaseModel):
    """Params of the send actions."""

    model_config = ConfigDict(extra="forbid")
    to: str
    value: Any = None
    amount: float | None = None
    data: dict[str, Any] = {}

    def model_post_init(self, context: Any, /) -> None:
        """Work done once the params are valid; ``to == "params bug"`` stands for a bug in it."""
        if self.to == "params bug":
            raise RuntimeError("the params model broke")


@app.action("send", params=SendParams, label="Send one by one", sample_output={"accepted": True})
def send(ctx: ActionContext, params: SendParams) -> dict[str, Any]:
    """Deliver one item."""
    return ctx.connection.receive(params)


@app.action(
    "send_batch", params=SendParams, label="Send in batches", sample_output={"accepted": True}
)
async def send_batch(ctx: ActionContext, params: SendParams) -> dict[str, Any]:
    """Deliver one item (the batch perform is used when there are several)."""
    return ctx.connection.receive(params)


@send_batch.batch(size=3)
async def send_batch_many(ctx: ActionContext, many: list[SendParams]) -> list[Success | Failure]:
    """Deliver a batch; items addressed to "reject" fail alone."""
    service: MemoryService = ctx.connection
    service.batches.append(len(many))
    if service.send_faults:
        raise service.send_faults.pop(0)
    outcomes: list[Success | Failure] = []
    for params in many:
        if params.to == "reject":
            outcomes.append(Failure("the sink refused the item", code=422))
        else:
            service.received.append(params.model_dump())
            outcomes.append(Success({"accepted": True, "position": len(service.received)}))
    return outcomes


@send_batch.preview
def send_batch_preview(ctx: ActionContext, many: list[SendParams]) -> dict[str, Any]:
    """The request a batch would make."""
    return {"method": "POST", "url": "memory://sink", "json": [p.model_dump() for p in many]}


@hookimpl
def register_apps(register: Callable[[App], None]) -> None:
    """Register the memory app."""
    register(app)


def reset() -> None:
    """Forget every service (between tests)."""
    SERVICES.clear()


def memory_zap(
    zap_id: str = "z",
    *,
    steps: list[dict[str, Any]] | None = None,
    connection: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A zap from the memory trigger to the memory send action (both on ``connection`` if named)."""
    trigger: dict[str, Any] = {
        "app": "memory",
        "event": "new_item",
        "params": {"page_size": 2},
        "start": "all",
    }
    send: dict[str, Any] = {
        "id": "out",
        "app": "memory",
        "action": "send",
        "params": {"to": "{{trigger.name}}"},
    }
    if connection is not None:
        trigger["connection"] = send["connection"] = connection
    trigger.update(extra.pop("trigger", {}))
    return {
        "id": zap_id,
        "name": f"test zap {zap_id}",
        "schedule": {"every": "1m"},
        "trigger": trigger,
        "steps": steps or [send],
        **extra,
    }
