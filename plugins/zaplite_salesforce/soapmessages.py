"""Salesforce Outbound Messages: the SOAP ``notifications`` parsed, and the answers sent back.

Salesforce POSTs a SOAP envelope whose body is ``notifications`` (namespace
``http://soap.sforce.com/2005/09/outbound``): the org, the outbound message's action,
and up to 100 ``Notification`` elements, each with its own ``Id`` and an ``sObject``
holding the field values at send time. The answer is ``notificationsResponse`` with
``<Ack>true</Ack>``; anything else (a SOAP fault) makes Salesforce send the message
again later, for up to 24 hours.

The XML is read with the standard library's expat parser set to refuse any document
type declaration, so no entity is ever declared, let alone expanded (the "billion
laughs" and external-entity attacks need one); a SOAP envelope never has a DTD.
"""

from __future__ import annotations

import pyexpat
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "ACK",
    "MAX_NOTIFICATIONS",
    "OUTBOUND_NS",
    "MalformedMessage",
    "Notification",
    "OutboundMessage",
    "fault",
    "parse_notifications",
]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

MAX_NOTIFICATIONS = 100
"""Notifications Salesforce puts in one message at most."""

MAX_DEPTH = 32
"""Nesting deeper than this is not an outbound message."""

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)
"""The answer that acknowledges a whole message."""


def fault(message: str, code: str = "soapenv:Server") -> str:
    """A SOAP 1.1 fault carrying ``message`` (Salesforce shows it in its outbound queue)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


class MalformedMessage(ValueError):
    """The body is not a well-formed outbound message; the message says what is wrong."""


@dataclass
class Notification:
    """One notification: its ``Id`` (stable across Salesforce's retries) and the record's fields."""

    id: str
    object_type: str | None
    fields: dict[str, str | None]


@dataclass
class OutboundMessage:
    """A parsed ``notifications`` message."""

    organization_id: str
    action_id: str | None = None
    session_id: str | None = None
    enterprise_url: str | None = None
    partner_url: str | None = None
    notifications: list[Notification] = field(default_factory=list)


@dataclass
class _Element:
    name: str  # "{namespace}local" or "local"
    attrs: dict[str, str]
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def local(self) -> str:
        return self.name.rpartition("}")[2]

    @property
    def nil(self) -> bool:
        return self.attrs.get(f"{{{XSI_NS}}}nil", "").strip().lower() in ("true", "1")

    def value(self) -> str | None:
        return None if self.nil else "".join(self.text)

    def child(self, local: str) -> _Element | None:
        return next((c for c in self.children if c.local == local), None)


def _refuse(*_args: Any) -> None:
    raise MalformedMessage("the message declares a document type; SOAP messages never do")


def _tree(body: bytes) -> _Element:
    """The document as a small element tree (namespaces expanded as ``{ns}local``)."""
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    root = _Element("", {})
    stack = [root]

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(stack) > MAX_DEPTH:
            raise MalformedMessage(f"the message nests elements more than {MAX_DEPTH} deep")
        element = _Element(_braced(name), {_braced(k): v for k, v in attrs.items()})
        stack[-1].children.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        stack[-1].text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except pyexpat.ExpatError as error:
        raise MalformedMessage(f"the body is not well-formed XML ({error})") from None
    if len(root.children) != 1:
        raise MalformedMessage("the body has no XML document element")
    return root.children[0]


def _braced(name: str) -> str:
    namespace, sep, local = name.rpartition("}")
    return f"{{{namespace}}}{local}" if sep else name


def parse_notifications(body: bytes) -> OutboundMessage:
    """Parse an outbound message; raise :class:`MalformedMessage` saying what is wrong."""
    envelope = _tree(body)
    if envelope.name != f"{{{SOAP_ENV_NS}}}Envelope":
        raise MalformedMessage("the document is not a SOAP 1.1 envelope")
    soap_body = next((c for c in envelope.children if c.name == f"{{{SOAP_ENV_NS}}}Body"), None)
    if soap_body is None:
        raise MalformedMessage("the SOAP envelope has no Body")
    notifications = next(
        (c for c in soap_body.children if c.name == f"{{{OUTBOUND_NS}}}notifications"), None
    )
    if notifications is None:
        raise MalformedMessage(
            "the SOAP body holds no notifications element of Salesforce's outbound namespace"
        )
    org = notifications.child("OrganizationId")
    org_id = (org.value() or "").strip() if org is not None else ""
    if not org_id:
        raise MalformedMessage("the message has no OrganizationId")
    message = OutboundMessage(
        organization_id=org_id,
        action_id=_text(notifications, "ActionId"),
        session_id=_text(notifications, "SessionId"),
        enterprise_url=_text(notifications, "EnterpriseUrl"),
        partner_url=_text(notifications, "PartnerUrl"),
    )
    items = [c for c in notifications.children if c.local == "Notification"]
    if not items:
        raise MalformedMessage("the message holds no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise MalformedMessage(
            f"the message holds {len(items)} notifications; Salesforce sends at most "
            f"{MAX_NOTIFICATIONS}"
        )
    for number, item in enumerate(items, 1):
        message.notifications.append(_notification(item, number))
    return message


def _text(parent: _Element, local: str) -> str | None:
    element = parent.child(local)
    if element is None:
        return None
    value = element.value()
    return value.strip() if value is not None else None


def _notification(item: _Element, number: int) -> Notification:
    notification_id = (_text(item, "Id") or "").strip()
    if not notification_id:
        raise MalformedMessage(f"notification {number} has no Id")
    sobject = item.child("sObject")
    if sobject is None:
        raise MalformedMessage(f"notification {notification_id} has no sObject")
    declared = sobject.attrs.get(f"{{{XSI_NS}}}type", "")
    object_type = declared.rpartition(":")[2] or None
    fields: dict[str, str | None] = {}
    for element in sobject.children:
        if element.children:
            raise MalformedMessage(
                f"notification {notification_id}: the field {element.local} is not a plain value"
            )
        fields[element.local] = element.value()
    if not fields.get("Id"):
        raise MalformedMessage(f"notification {notification_id}: the sObject has no Id")
    return Notification(id=notification_id, object_type=object_type, fields=fields)
