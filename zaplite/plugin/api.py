"""The plugin-author API: apps, their triggers and actions, and what they exchange with the engine.

A plugin builds an :class:`App`, decorates its trigger and action functions with
:meth:`App.trigger` and :meth:`App.action`, and hands the app to the engine from its
``register_apps`` hook::

    from pydantic import BaseModel
    from zaplite import App, Page, hookimpl

    app = App("inventory", label="Inventory", connection=InventoryConnection, connect=open_client)

    class NewItemParams(BaseModel, extra="forbid"):
        shelf: str

    @app.trigger("new_item", params=NewItemParams, dedup_key="id", sample={"id": 1, "name": "Pen"})
    async def new_item(ctx):
        async for rows, cursor in ctx.connection.items_after(ctx.cursor):
            yield Page(records=rows, cursor=cursor)

    @hookimpl
    def register_apps(register):
        register(app)

Functions may be ``async def`` or plain; plain functions (and plain generators) run
in a worker thread so they never block the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Action",
    "ActionContext",
    "ApiUse",
    "App",
    "Failure",
    "HttpRoute",
    "NoParams",
    "Outcome",
    "Page",
    "PollContext",
    "Record",
    "Start",
    "Success",
    "Trigger",
    "TriggerState",
]

Record = dict[str, Any]
"""One record as a trigger yields it: JSON-compatible, nested objects allowed."""

Start = Literal["now", "all"] | datetime
"""What the first poll of a zap does: ``"now"`` (only records from now on), ``"all"``, or an instant to backfill from."""


class NoParams(BaseModel):
    """The params model of a trigger or action that takes none."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- triggers


@dataclass
class Page:
    """One checkpoint of a poll: records in the trigger's order, and the cursor to save after them.

    The engine delivers ``records`` and then, in the same transaction that records
    their tasks, saves ``cursor`` (any JSON-compatible value) and ``state``. A crash
    before that transaction re-polls from the previous cursor, so a page is the unit
    that may be delivered twice, never lost.

    ``watermark`` is the newest record time the page covers; the engine forgets the
    dedup keys of records older than ``watermark - trigger.overlap``.

    ``settled_cursor`` (optional) is a cursor that reads nothing up to this page's end
    again, saved instead of ``cursor`` when the zap's dedup keys are too many to keep.

    ``state`` maps keys to values the trigger wants back on a later poll through
    :class:`TriggerState` (for example the last seen values of watched fields); a
    value of ``None`` deletes the key.
    """

    records: list[Record]
    cursor: Any
    watermark: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)
    usage: str | None = None
    """A short note on the service's API usage (``"api-usage=18/5000"``), shown in the run's log line."""
    settled_cursor: Any = None
    """Optional: a cursor from which no record up to the end of this page is read again.

    A trigger that looks back (``overlap``) relies on the engine remembering the dedup
    keys of every record inside that window. When a zap's keys pass the store's
    ``max_keys_per_zap`` (one huge import sharing one timestamp), the engine saves this
    cursor instead of ``cursor`` and forgets the zap's keys, so nothing is delivered
    twice; it does so for the rest of that run. The price, said in the log, is that a
    record committed late with a timestamp already passed is not seen. Without it the
    keys are all kept.
    """


class TriggerState(Protocol):
    """Per-zap key/value memory a trigger reads during a poll (written through :attr:`Page.state`)."""

    def get(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the stored values of those of ``keys`` that have one."""
        ...


@dataclass
class PollContext:
    """Everything a poll function receives.

    ``cursor`` is what the last committed :class:`Page` carried, or ``None`` on the
    zap's first poll, when ``start`` says where to begin. ``limit``, when set (by
    ``zaplite test-trigger``), asks for at most that many of the most recent records
    regardless of the cursor; nothing the poll yields then is saved.
    """

    zap_id: str
    params: BaseModel
    connection: Any
    cursor: Any
    start: Start
    state: TriggerState
    log: logging.Logger
    limit: int | None = None
    received: list[Record] | None = None
    """For an instant trigger: the records its route stored and not yet delivered, oldest first."""


PollFunction = Callable[[PollContext], AsyncIterator[Page] | Iterator[Page]]
RecentFunction = Callable[[PollContext], Any]


@dataclass
class Trigger:
    """A trigger: a poll function that yields :class:`Page` objects, and what it declares.

    - ``params``: a pydantic model (extra fields forbidden) that validates the zap's ``trigger.params``.
    - ``dedup_key``: a field name, several field names (joined with ``|``), or a function
      of the record; a record whose key was already delivered is not delivered again.
    - ``overlap``: how far back each poll looks again (a ``timedelta``, or a function of
      the params when a zap can change it); dedup keys are kept that long.
    - ``sample``: a typical record, used by ``validate`` and ``test-step`` when no sample was fetched.
    - ``output_fields``: dotted field names the records carry, or a function of the params.
    - ``recent``: optional function returning up to ``ctx.limit`` recent records for
      ``test-trigger``; without it, ``test-trigger`` shows the sample.
    - ``time_field``: optional field name (or function of the record) giving the record's
      time at the service (a datetime or ISO-8601 text, e.g. ``CreatedDate``); the
      ``zaplite_delivery_lag_seconds`` metric measures from it to the delivery.
    - ``instant``: the records are pushed by the service to an HTTP route of the plugin
      (see ``register_routes``), which hands them to ``server.receive(zap_id, records)``:
      zaplite stores them before the route answers, and runs the zap at once. Each run
      calls the poll function with ``ctx.received`` (the stored records not delivered
      yet); it yields them (or records made from them) as pages. A received record
      counts as delivered once a page with its dedup key is recorded.
    """

    app: str
    name: str
    poll: PollFunction
    params: type[BaseModel] = NoParams
    label: str = ""
    description: str = ""
    dedup_key: str | Sequence[str] | Callable[[Record], str] = "id"
    overlap: timedelta | Callable[[BaseModel], timedelta] = timedelta(0)
    sample: Record = field(default_factory=dict)
    output_fields: Sequence[str] | Callable[[BaseModel], Sequence[str]] = ()
    recent: RecentFunction | None = None
    time_field: str | Callable[[Record], Any] | None = None
    instant: bool = False

    def key_of(self, record: Record) -> str:
        """The dedup key of ``record``."""
        key = self.dedup_key
        if callable(key):
            return str(key(record))
        if isinstance(key, str):
            return str(record.get(key))
        return "|".join(str(record.get(name)) for name in key)

    def time_of(self, record: Record) -> Any:
        """The record's time at the service as the trigger gives it (``None`` if it gives none)."""
        field_ = self.time_field
        if field_ is None:
            return None
        if callable(field_):
            return field_(record)
        return record.get(field_)

    def overlap_for(self, params: BaseModel) -> timedelta:
        """The look-back overlap for these params."""
        overlap = self.overlap
        return overlap(params) if callable(overlap) else overlap

    def fields_for(self, params: BaseModel | None) -> list[str]:
        """The output fields for these params (falls back to the sample's keys)."""
        fields = self.output_fields
        if callable(fields):
            if params is None:
                return sorted(_flatten_keys(self.sample))
            return list(fields(params))
        return list(fields) or sorted(_flatten_keys(self.sample))


# --------------------------------------------------------------------------- actions


@dataclass
class Success:
    """One record's action succeeded; ``output`` is available to later steps as ``steps.<id>.*``."""

    output: Record = field(default_factory=dict)


@dataclass
class Failure:
    """One record's action failed for good, with the service's own message (and code)."""

    message: str
    code: str | int | None = None


Outcome = Success | Failure


@dataclass
class ActionContext:
    """What a perform function receives besides its params."""

    zap_id: str
    step_id: str
    connection: Any
    log: logging.Logger


PerformFunction = Callable[[ActionContext, Any], Any]
BatchPerformFunction = Callable[[ActionContext, list[Any]], Any]
PreviewFunction = Callable[[ActionContext, list[Any]], Any]


@dataclass
class Action:
    """An action: a perform function taking one validated params object, returning its output dict.

    - ``perform_batch`` (optional, set with ``@action.batch``): takes a list of params
      objects and returns one :class:`Outcome` per params, in order. The engine uses
      it in chunks of at most ``batch_size``.
    - ``preview`` (optional, set with ``@action.preview``): returns the request that
      would be sent for a list of params (secrets masked), shown by ``test-step``.
    - ``sample_output``: what a successful perform returns, for ``validate``.
    """

    app: str
    name: str
    perform: PerformFunction
    params: type[BaseModel] = NoParams
    label: str = ""
    description: str = ""
    perform_batch: BatchPerformFunction | None = None
    batch_size: int = 100
    preview_request: PreviewFunction | None = None
    sample_output: Record = field(default_factory=dict)

    def batch(
        self, function: BatchPerformFunction | None = None, *, size: int | None = None
    ) -> Any:
        """Decorator: register the batch perform of this action (``@my_action.batch(size=1000)``)."""

        def decorate(fn: BatchPerformFunction) -> BatchPerformFunction:
            self.perform_batch = fn
            if size is not None:
                self.batch_size = size
            return fn

        return decorate(function) if function is not None else decorate

    def preview(self, function: PreviewFunction) -> PreviewFunction:
        """Decorator: register the function that shows the request ``test-step`` would send."""
        self.preview_request = function
        return function


# --------------------------------------------------------------------------- apps

ConnectFunction = Callable[[Any], Any]
TestFunction = Callable[[Any], Any]


@dataclass(frozen=True)
class ApiUse:
    """A connection's use of its service's daily API allowance, as its app reports it.

    - ``calls``: API calls made through the connection object since the engine last
      asked (the engine adds them up).
    - ``allowance``: the account's API calls a day, if the service said (else ``None``).
    - ``used``: the account's calls of the last 24 hours, all callers, if the service said.
    - ``share``: the part of ``allowance`` zaplite may use (for example 0.5).
    """

    calls: int = 0
    allowance: int | None = None
    used: int | None = None
    share: float = 1.0


ApiUseFunction = Callable[[Any], ApiUse]


@dataclass
class App:
    """An app (a service) with its connection settings, triggers and actions.

    - ``connection``: a pydantic model of the ``[connections.NAME]`` table (without
      ``app``). Fields typed ``SecretStr`` are secrets: masked everywhere. Relative
      ``Path`` fields are resolved against the config file's folder.
    - ``connect``: turns validated settings into the object passed to polls and
      performs as ``ctx.connection`` (for example a client holding one pooled
      ``httpx`` client). If the object has ``aclose()`` or ``close()`` it is called
      when the engine stops.
    - ``test``: signs in with a connection object and returns a short description of
      what it reached (``"signed in to acme.my.salesforce.com"``); raises a
      :class:`~zaplite.errors.PluginError` if it cannot.
    - ``api_use``: optional; given a connection object, returns its :class:`ApiUse`.
      The daemon asks after each poll; when a connection's projected day of calls is
      over its share of the allowance, its zaps poll evenly less often until it is not.
    """

    name: str
    label: str = ""
    description: str = ""
    connection: type[BaseModel] | None = None
    connect: ConnectFunction | None = None
    test: TestFunction | None = None
    api_use: ApiUseFunction | None = None
    triggers: dict[str, Trigger] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)

    def trigger(self, name: str, **options: Any) -> Callable[[PollFunction], Trigger]:
        """Decorator: make a poll function a :class:`Trigger` of this app named ``name``."""

        def decorate(fn: PollFunction) -> Trigger:
            options.setdefault("description", (fn.__doc__ or "").strip())
            trigger = Trigger(app=self.name, name=name, poll=fn, **options)
            self.add_trigger(trigger)
            return trigger

        return decorate

    def action(self, name: str, **options: Any) -> Callable[[PerformFunction], Action]:
        """Decorator: make a perform function an :class:`Action` of this app named ``name``."""

        def decorate(fn: PerformFunction) -> Action:
            options.setdefault("description", (fn.__doc__ or "").strip())
            action = Action(app=self.name, name=name, perform=fn, **options)
            self.add_action(action)
            return action

        return decorate

    def add_trigger(self, trigger: Trigger) -> None:
        """Add a trigger built by hand; a second trigger of the same name is an error."""
        if trigger.name in self.triggers:
            raise ValueError(f"app {self.name!r} already has a trigger named {trigger.name!r}")
        self.triggers[trigger.name] = trigger

    def add_action(self, action: Action) -> None:
        """Add an action built by hand; a second action of the same name is an error."""
        if action.name in self.actions:
            raise ValueError(f"app {self.name!r} already has an action named {action.name!r}")
        self.actions[action.name] = action


# --------------------------------------------------------------------------- HTTP routes


@dataclass(frozen=True)
class HttpRoute:
    """A route a plugin adds to the daemon's HTTP server (see the ``register_routes`` hook).

    ``endpoint`` is ``async def endpoint(request, server)``: a starlette ``Request`` and
    the running server's context (its store, workspace, engine and daemon); it returns
    a starlette ``Response``. Routes live under ``/hooks/``. With ``console_token``
    (the default), a request needs the console's token as the pages do when the server
    listens beyond loopback; without it the route is open and must check its caller
    itself (a shared secret in the URL, a signature). Plugin routes are never asked for
    the console's CSRF token: their callers are services, not browsers.
    """

    path: str
    endpoint: Callable[..., Any]
    methods: tuple[str, ...] = ("POST",)
    console_token: bool = True
    plugin: str = ""


def _flatten_keys(record: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in record.items():
        if isinstance(value, Mapping):
            yield from _flatten_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
