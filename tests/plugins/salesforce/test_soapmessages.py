"""The outbound-message parser on real-shaped messages, broken ones and hostile ones."""

from __future__ import annotations

import pytest
from zaplite_salesforce.soapmessages import (
    ACK,
    MAX_NOTIFICATIONS,
    MalformedMessage,
    fault,
    parse_notifications,
)

from zaplite.sandbox.salesforce.outbound import Pending, Registration, notifications_xml

# The shape in Salesforce's documentation (and ../shared/API-NOTES.md), as sent.
DOCUMENTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00Dxx0000000001EAA</OrganizationId>
   <ActionId>04kxx0000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/64.0/00Dxx0000000001</EnterpriseUrl>
   <PartnerUrl>https://x.my.salesforce.com/services/Soap/u/64.0/00Dxx0000000001</PartnerUrl>
   <Notification>
    <Id>04lxx0000000001AAA</Id>
    <sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>003xx000004TmiQAAS</sf:Id>
     <sf:Email>ada@example.com</sf:Email>
     <sf:FirstName>Ada &amp; Co</sf:FirstName>
     <sf:Phone xsi:nil="true"/>
     <sf:Title></sf:Title>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""


def _message(n: int) -> bytes:
    registration = Registration("04kxx0000000001AAA", "Contact", ["Id", "Email", "Phone"], "u")
    pending = [
        Pending(
            f"04lxx{i:013d}",
            registration.id,
            {"Id": f"003xx{i:013d}", "Email": f"u{i}@x.com", "Phone": None},
        )
        for i in range(n)
    ]
    return notifications_xml("00Dxx0000000001EAA", registration, pending)


def test_the_documented_message() -> None:
    message = parse_notifications(DOCUMENTED)
    assert message.organization_id == "00Dxx0000000001EAA"
    assert message.action_id == "04kxx0000000001AAA"
    assert message.session_id is None
    assert message.partner_url.endswith("/services/Soap/u/64.0/00Dxx0000000001")
    [notification] = message.notifications
    assert notification.id == "04lxx0000000001AAA"
    assert notification.object_type == "Contact"
    assert notification.fields == {
        "Id": "003xx000004TmiQAAS",
        "Email": "ada@example.com",
        "FirstName": "Ada & Co",
        "Phone": None,  # xsi:nil
        "Title": "",  # empty, not nil
    }


def test_one_hundred_notifications_in_order_and_no_more() -> None:
    message = parse_notifications(_message(MAX_NOTIFICATIONS))
    assert len(message.notifications) == 100
    assert [n.fields["Email"] for n in message.notifications] == [f"u{i}@x.com" for i in range(100)]
    assert all(n.fields["Phone"] is None for n in message.notifications)
    with pytest.raises(MalformedMessage, match="101 notifications"):
        parse_notifications(_message(101))


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (b"<OrganizationId>00Dxx0000000001EAA</OrganizationId>", "no OrganizationId"),
        (b"<Id>04lxx0000000001AAA</Id>", "has no Id"),
        (b"<sf:Id>003xx000004TmiQAAS</sf:Id>", "the sObject has no Id"),
    ],
)
def test_missing_fields_are_named(cut: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_notifications(DOCUMENTED.replace(cut, b""))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not well-formed"),
        (b"<soapenv:Envelope", "not well-formed"),
        (DOCUMENTED[:-30], "not well-formed"),
        (b"not xml at all", "not well-formed"),
        (b"<a/>", "not a SOAP 1.1 envelope"),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>',
            "no notifications",
        ),
        (
            DOCUMENTED.replace(b"<Notification>", b"<Other>").replace(
                b"</Notification>", b"</Other>"
            ),
            "no Notification",
        ),
        (
            DOCUMENTED.replace(
                b"<sf:Email>ada@example.com</sf:Email>", b"<sf:Email><b>x</b></sf:Email>"
            ),
            "not a plain value",
        ),
        (
            DOCUMENTED.replace(b"http://soap.sforce.com/2005/09/outbound", b"urn:other"),
            "no notifications",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_notifications(body)


def test_an_xml_bomb_is_refused_at_once_without_expanding() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
            for i in range(1, 10)
        )
        + b"]>"
        + DOCUMENTED.split(b"?>", 1)[1].replace(b"ada@example.com", b"&lol9;")
    )
    # Refused at the DOCTYPE, before any entity is declared: nothing is expanded.
    with pytest.raises(MalformedMessage, match="document type"):
        parse_notifications(bomb)


def test_external_entities_are_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + DOCUMENTED.split(b"?>", 1)[1].replace(b"ada@example.com", b"&x;")
    )
    with pytest.raises(MalformedMessage, match="document type"):
        parse_notifications(xxe)


def test_the_ack_and_a_fault_are_soap() -> None:
    assert "<Ack>true</Ack>" in ACK and "notificationsResponse" in ACK
    text = fault("bad <thing> & more")
    assert "<faultstring>bad &lt;thing&gt; &amp; more</faultstring>" in text
    assert "soapenv:Fault" in text
