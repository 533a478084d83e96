"""The instant ``outbound_message`` trigger: Salesforce pushes records to the daemon over HTTP.

A Salesforce Outbound Message (fired by a flow or workflow rule) is sent to
``POST /hooks/salesforce/<zap id>?token=<the zap's token>`` on the daemon's HTTP
server (``zaplite run --http``). The route checks the token (Salesforce cannot sign
its requests), parses the SOAP ``notifications`` (:mod:`~zaplite_salesforce.soapmessages`),
checks that the message comes from the org of the zap's connection (or one the zap
lists), and hands the notifications to zaplite, which stores them in one transaction
before the route answers with the Ack. A notification's ``Id`` is its dedup key: a
message repeated after a lost Ack is acknowledged and not delivered twice.

Any other outcome is a SOAP fault, which Salesforce retries for up to 24 hours: a
malformed body (500), a wrong token (403), an unknown or disabled zap (404, 503),
another org (500), or a store that could not write (500). Each refused message of a
zap is counted (``server.refused``), as ``server.receive`` counts what it stored.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from zaplite import App, HttpRoute, Page, PollContext, Record
from zaplite_salesforce.soapmessages import (
    ACK,
    MalformedMessage,
    OutboundMessage,
    fault,
    parse_notifications,
)
from zaplite_salesforce.soql import FIELD_PATTERN, OBJECT_PATTERN

__all__ = [
    "HOOK_PATH",
    "MAX_BODY_BYTES",
    "OutboundMessageParams",
    "add_outbound_trigger",
    "outbound_route",
    "records_of",
]

log = logging.getLogger("zaplite.salesforce.outbound")

HOOK_PATH = "/hooks/salesforce/{zap_id}"
"""Where Salesforce sends a zap's outbound messages (with ``?token=...``)."""

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A larger body is refused (the server's limit under /hooks/); 100 notifications stay far below it."""

KEPT = timedelta(hours=25)
"""How long a delivered notification's Id is remembered (Salesforce repeats for 24 hours)."""

_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MIN_TOKEN = 16

OUTBOUND_SAMPLE: Record = {
    "Id": "003RO0000035WQgYAM",
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada@example.com",
    "Phone": None,
    "_notification": {
        "Id": "04lRO0000000001AAA",
        "ActionId": "04kRO0000000001AAA",
        "OrganizationId": "00DRO0000000001EAA",
        "object": "Contact",
    },
}


class OutboundMessageParams(BaseModel):
    """Params of ``outbound_message``: the object and fields the message sends, its token, orgs."""

    model_config = ConfigDict(extra="forbid")

    object: str = Field(
        pattern=OBJECT_PATTERN.pattern, description="The sObject the outbound message carries."
    )
    fields: list[str] = Field(
        default_factory=list,
        description="The fields the outbound message sends (for validate and samples).",
    )
    token: SecretStr = Field(
        description=(
            'The secret in the endpoint URL (?token=...), usually "${VAR}" read from the '
            "environment; 16 characters or more."
        )
    )
    organization_ids: list[str] = Field(
        default_factory=list,
        description="Orgs besides the connection's whose messages are accepted (00D... ids).",
    )

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if not FIELD_PATTERN.match(name) or "." in name:
                raise ValueError(f"{name!r} is not a field an outbound message can send")
        return value

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        match = _VAR.match(value.strip())
        if match:
            name = match.group(1)
            if name not in os.environ:
                raise ValueError(f"environment variable {name} is not set")
            value = os.environ[name]
        if len(value) < MIN_TOKEN:
            raise ValueError(f"the token must be {MIN_TOKEN} characters or more")
        return value

    @field_validator("organization_ids")
    @classmethod
    def _orgs(cls, value: list[str]) -> list[str]:
        for org in value:
            if not re.fullmatch(r"00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?", org):
                raise ValueError(f"{org!r} is not a Salesforce organization id (00D...)")
        return value


def _org15(org_id: str) -> str:
    """An org id's case-sensitive 15-character form (the 18-character one adds a checksum)."""
    return org_id.strip()[:15]


def records_of(message: OutboundMessage) -> list[Record]:
    """The records an outbound message carries, one per notification, in order."""
    records: list[Record] = []
    for notification in message.notifications:
        record: Record = dict(notification.fields)
        record["_notification"] = {
            "Id": notification.id,
            "ActionId": message.action_id,
            "OrganizationId": message.organization_id,
            "object": notification.object_type,
        }
        records.append(record)
    return records


def _soap(status: int, message: str) -> Any:
    from starlette.responses import Response

    if status >= 400:
        return Response(fault(message), status_code=status, media_type="text/xml")
    return Response(message, status_code=status, media_type="text/xml")


async def _body(request: Any) -> bytes | None:
    """The request body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _org_allowed(server: Any, zap: Any, org_id: str) -> bool | str:
    """Whether the message's org is the connection's or one the zap lists (or why it is unknown)."""
    params: OutboundMessageParams = zap.trigger_params
    if _org15(org_id) in {_org15(org) for org in params.organization_ids}:
        return True
    client = await server.connection_of(zap)
    try:
        own = await client.organization_id()
    except Exception as error:  # the sign-in failed: Salesforce will send it again
        return f"could not learn the org of connection {zap.connection!r}: {error}"
    return _org15(own) == _org15(org_id)


async def receive_outbound(request: Any, server: Any) -> Any:
    """``POST /hooks/salesforce/{zap_id}``: store the notifications, then acknowledge them."""
    zap_id = request.path_params["zap_id"]
    zap = server.zaps.get(zap_id)
    if zap is None or (zap.trigger.app, zap.trigger.name) != ("salesforce", "outbound_message"):
        return _soap(
            404, f"zaplite has no zap {zap_id!r} with a Salesforce outbound_message trigger"
        )
    params: OutboundMessageParams = zap.trigger_params
    given = request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), params.token.get_secret_value().encode()):
        log.warning("zap %s: an outbound message came with a missing or wrong token", zap_id)
        server.refused(zap_id)
        return _soap(403, "the token in the endpoint URL is missing or wrong")
    if not zap.zap.enabled:
        server.refused(zap_id)
        return _soap(503, f"the zap {zap_id!r} is disabled; the message is not accepted now")
    body = await _body(request)
    if body is None:
        server.refused(zap_id)
        return _soap(500, f"the message is larger than {MAX_BODY_BYTES} bytes")
    try:
        message = parse_notifications(body)
    except MalformedMessage as error:
        log.warning("zap %s: malformed outbound message: %s", zap_id, error)
        server.refused(zap_id)
        return _soap(500, f"malformed outbound message: {error}")
    wrong = [
        n.id
        for n in message.notifications
        if n.object_type and n.object_type.lower() != params.object.lower()
    ]
    if wrong:
        server.refused(zap_id)
        return _soap(
            500,
            f"the zap {zap_id!r} takes {params.object} records; notification {wrong[0]} "
            "carries another object",
        )
    allowed = await _org_allowed(server, zap, message.organization_id)
    if allowed is not True:
        reason = (
            allowed
            if isinstance(allowed, str)
            else f"the organization {message.organization_id} is not the org of connection "
            f"{zap.connection!r} nor listed in the zap's organization_ids"
        )
        log.warning("zap %s: outbound message refused: %s", zap_id, reason)
        server.refused(zap_id)
        return _soap(500, reason)
    try:
        await server.receive(zap_id, records_of(message))
    except Exception as error:  # nothing was stored: no Ack, Salesforce sends it again
        log.error("zap %s: could not store an outbound message: %s", zap_id, error)
        return _soap(500, "zaplite could not store the message; send it again later")
    return _soap(200, ACK)


def outbound_route() -> HttpRoute:
    """The route Salesforce posts outbound messages to (open: it checks its own token)."""
    return HttpRoute(HOOK_PATH, receive_outbound, methods=("POST",), console_token=False)


def _output_fields(params: OutboundMessageParams) -> list[str]:
    names = list(dict.fromkeys(["Id", *params.fields]))
    return [*names, *(f"_notification.{n}" for n in ("Id", "ActionId", "OrganizationId"))]


def _key(record: Record) -> str:
    notification = record.get("_notification")
    if isinstance(notification, dict) and notification.get("Id"):
        return str(notification["Id"])
    return str(record.get("Id"))


def add_outbound_trigger(app: App) -> None:
    """Add ``outbound_message`` to ``app``."""

    @app.trigger(
        "outbound_message",
        params=OutboundMessageParams,
        label="New outbound message (instant)",
        dedup_key=_key,
        overlap=KEPT,
        sample=OUTBOUND_SAMPLE,
        output_fields=_output_fields,
        instant=True,
    )
    async def outbound_message(ctx: PollContext) -> AsyncIterator[Page]:
        """Fires at once when a Salesforce outbound message arrives (a flow or workflow rule)."""
        records = list(ctx.received or [])
        yield Page(records=records, cursor=ctx.cursor, watermark=datetime.now(UTC))
