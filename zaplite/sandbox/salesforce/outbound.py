"""Outbound Messages: the emulated org pushes SOAP ``notifications`` to registered URLs.

An outbound message is registered for an object, the fields it sends, the URL it is
sent to and when it fires (a record ``created``, or ``created_or_updated``). Each
write that matches queues a notification holding the field values at that moment.
A sender thread POSTs the queued notifications of each registration, up to 100 a
message, and retries a message that was not acknowledged (no HTTP 200 with
``<Ack>true</Ack>``) with growing gaps, as Salesforce does, until it is or the
notification is older than ``give_up_after``.

What happened is kept for tests and the admin API: every attempt (its notification
ids and record ids, when it was sent, the HTTP status, whether it was acknowledged),
and how often each notification was acknowledged. :meth:`OutboundMessages.resend` sends an acknowledged notification
again, as Salesforce does when the Ack did not reach it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

from .ids import IdFactory

__all__ = ["OutboundMessages", "Registration", "notifications_xml"]

EVENTS = ("created", "created_or_updated")
MAX_PER_MESSAGE = 100


@dataclass
class Registration:
    """One outbound message: what it watches, what it sends and where."""

    id: str
    object_name: str
    fields: list[str]
    url: str
    on: str = "created"


@dataclass
class Pending:
    """A notification waiting for its Ack."""

    id: str
    registration: str
    values: dict[str, Any]
    queued: float = field(default_factory=time.monotonic)
    attempts: int = 0
    next_at: float = 0.0


def _soap_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def notifications_xml(
    org_id: str, registration: Registration, pending: list[Pending], base_url: str = ""
) -> bytes:
    """The SOAP message Salesforce sends for ``pending`` notifications of ``registration``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "<soapenv:Body>",
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
        f"<OrganizationId>{escape(org_id)}</OrganizationId>",
        f"<ActionId>{escape(registration.id)}</ActionId>",
        '<SessionId xsi:nil="true"/>',
        f"<EnterpriseUrl>{escape(base_url)}/services/Soap/c/64.0/{escape(org_id[:15])}"
        "</EnterpriseUrl>",
        f"<PartnerUrl>{escape(base_url)}/services/Soap/u/64.0/{escape(org_id[:15])}</PartnerUrl>",
    ]
    for item in pending:
        parts.append(f"<Notification><Id>{escape(item.id)}</Id>")
        parts.append(
            f"<sObject xsi:type={quoteattr('sf:' + registration.object_name)} "
            'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        )
        for name, value in item.values.items():
            if value is None:
                parts.append(f'<sf:{name} xsi:nil="true"/>')
            else:
                parts.append(f"<sf:{name}>{escape(_soap_value(value))}</sf:{name}>")
        parts.append("</sObject></Notification>")
    parts.append("</notifications></soapenv:Body></soapenv:Envelope>")
    return "".join(parts).encode()


class OutboundMessages:
    """The org's outbound messages, their queue and the thread that sends it."""

    def __init__(
        self,
        org_id: str,
        ids: IdFactory,
        *,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        give_up_after: float = 24 * 3600.0,
        timeout: float = 10.0,
    ) -> None:
        self.org_id = org_id
        self.ids = ids
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.give_up_after = give_up_after
        self.timeout = timeout
        self.base_url = ""
        self.registrations: dict[str, Registration] = {}
        self.pending: list[Pending] = []
        self.attempts: list[dict[str, Any]] = []
        self.acks: Counter[str] = Counter()
        self.given_up: list[str] = []
        self.sent: dict[str, Pending] = {}
        """Every notification ever queued, by id (for :meth:`resend`)."""
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # ------------------------------------------------------------------ registering

    def register(
        self, object_name: str, fields: list[str], url: str, on: str = "created"
    ) -> Registration:
        """Register an outbound message; notifications start with the next matching write."""
        if on not in EVENTS:
            raise ValueError(f"'on' must be one of {', '.join(EVENTS)}")
        if not url.startswith(("http://", "https://")):
            raise ValueError("the endpoint URL must start with http:// or https://")
        names = list(dict.fromkeys(["Id", *fields]))
        registration = Registration(self.ids.new("04k"), object_name, names, url, on)
        with self._lock:
            self.registrations[registration.id] = registration
        self._start()
        return registration

    def unregister(self, registration_id: str) -> None:
        """Stop an outbound message (its queued notifications are dropped)."""
        with self._lock:
            self.registrations.pop(registration_id, None)
            self.pending = [p for p in self.pending if p.registration != registration_id]

    # ------------------------------------------------------------------ the queue

    def on_write(self, object_name: str, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        """A record was written: queue a notification for each outbound message it fires."""
        if not self.registrations or row.get("IsDeleted"):
            return
        created = old is None
        with self._lock:
            for registration in self.registrations.values():
                if registration.object_name.lower() != object_name.lower():
                    continue
                if registration.on == "created" and not created:
                    continue
                values = {name: row.get(name) for name in registration.fields}
                item = Pending(self.ids.new("04l"), registration.id, values)
                self.pending.append(item)
                self.sent[item.id] = item
            self._lock.notify_all()

    def resend(self, notification_id: str) -> None:
        """Send a notification again, as Salesforce does when its Ack got lost."""
        with self._lock:
            item = self.sent.get(notification_id)
            if item is None:
                raise KeyError(f"there is no notification {notification_id}")
            if item not in self.pending:
                item.next_at = 0.0
                self.pending.append(item)
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued; whether that happened within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
            return True

    def stats(self) -> dict[str, Any]:
        """What was registered, queued, attempted and acknowledged (the admin API's view)."""
        with self._lock:
            return {
                "registrations": [vars(r) for r in self.registrations.values()],
                "pending": [p.id for p in self.pending],
                "attempts": list(self.attempts),
                "acks": dict(self.acks),
                "given_up": list(self.given_up),
            }

    def stop(self) -> None:
        """Stop the sender thread (queued notifications stay queued)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None

    # ------------------------------------------------------------------ sending

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="salesforce-outbound", daemon=True
            )
            self._thread.start()

    def _due(self) -> tuple[Registration, list[Pending]] | None:
        """The next message to send (called under the lock), or ``None``."""
        now = time.monotonic()
        for item in self.pending:
            if item.next_at <= now and item.registration in self.registrations:
                batch = [
                    p
                    for p in self.pending
                    if p.registration == item.registration and p.next_at <= now
                ][:MAX_PER_MESSAGE]
                return self.registrations[item.registration], batch
        return None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while True:
                with self._lock:
                    while not self._stopping:
                        due = self._due()
                        if due is not None:
                            break
                        waits = [p.next_at - time.monotonic() for p in self.pending]
                        self._lock.wait(max(0.01, min(waits)) if waits else 1.0)
                    if self._stopping:
                        return
                registration, batch = due
                self._send(http, registration, batch)

    def _send(self, http: httpx.Client, registration: Registration, batch: list[Pending]) -> None:
        body = notifications_xml(self.org_id, registration, batch, self.base_url)
        sent_at = time.time()
        status = 0
        acked = False
        try:
            response = http.post(
                registration.url,
                content=body,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            )
            status = response.status_code
            acked = status == 200 and "<Ack>true</Ack>" in response.text
        except httpx.HTTPError:
            pass
        now = time.monotonic()
        with self._lock:
            self.attempts.append(
                {
                    "notifications": [p.id for p in batch],
                    "records": [p.values.get("Id") for p in batch],
                    "status": status,
                    "acked": acked,
                    "at": sent_at,
                }
            )
            for item in batch:
                item.attempts += 1
                if acked:
                    self.acks[item.id] += 1
                    self.pending.remove(item)
                elif now - item.queued > self.give_up_after:
                    self.given_up.append(item.id)
                    self.pending.remove(item)
                else:
                    wait = min(self.retry_max, self.retry_initial * 2 ** (item.attempts - 1))
                    item.next_at = now + wait
            self._lock.notify_all()
