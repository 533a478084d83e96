"""Simulated sales activity in the Salesforce emulator: new contacts, leads and deals moving on.

Now and then (every :data:`DELETE_EVERY` rounds) a contact the activity created earlier
is deleted, for the deletion zap to notice.

``zaplite sandbox --activity`` and ``zaplite demo`` use it so that a running daemon
always has something to deliver.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from zaplite.sandbox.salesforce import SalesforceEmulator
from zaplite.sandbox.salesforce.schema import (
    CONTACT_LEAD_STATUSES,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
)

__all__ = ["SalesActivity"]

FIRST = (
    "Maya",
    "Arjun",
    "Lena",
    "Omar",
    "Zoe",
    "Kenji",
    "Ines",
    "Ravi",
    "Nora",
    "Felix",
    "Asha",
    "Theo",
)
LAST = (
    "Patel",
    "Kim",
    "Novak",
    "Haddad",
    "Silva",
    "Tanaka",
    "Moreau",
    "Iyer",
    "Berg",
    "Lang",
    "Rao",
    "Quinn",
)
DELETE_EVERY = 4
"""Rounds of :meth:`SalesActivity.tick` between two deleted contacts."""

OPEN_STAGES = [stage for stage, (_p, closed, _w) in OPPORTUNITY_STAGES.items() if not closed]


@dataclass
class SalesActivity:
    """Makes changes in a :class:`SalesforceEmulator` the way a sales team would."""

    emulator: SalesforceEmulator
    seed: int | None = None
    rng: random.Random = field(init=False)
    created: int = 0
    rounds: int = 0
    made: list[str] = field(default_factory=list)
    """Ids of the contacts this activity created, oldest first (the ones it may delete)."""
    new_deals: list[dict[str, Any]] = field(default_factory=list)
    """Deals opened as a side effect (a closed deal is followed by a new one); read and clear it."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def new_contact(self) -> dict[str, Any]:
        """A new contact, as a rep adds one after a call."""
        self.created += 1
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        accounts = self.emulator.records("Account")
        account = self.rng.choice(accounts) if accounts else None
        values: dict[str, Any] = {
            "FirstName": first,
            "LastName": last,
            "Email": f"{first.lower()}.{last.lower()}.{self.created}@example.com",
            "Phone": f"+1415{self.rng.randrange(10**6, 10**7)}",
            "Lead_Status__c": self.rng.choice(CONTACT_LEAD_STATUSES[:2]),
            "LeadSource": "Web",
        }
        if account:
            values["AccountId"] = account["Id"]
            values["OwnerId"] = account.get("OwnerId")
        contact = self.emulator.create("Contact", values)
        self.made.append(contact["Id"])
        return contact

    def delete_contact(self) -> dict[str, Any] | None:
        """Delete the oldest contact this activity created (to the recycle bin), if any is left."""
        while self.made:
            contact_id = self.made.pop(0)
            found = self.emulator.get("Contact", contact_id)
            if found is not None and not found.get("IsDeleted"):
                return self.emulator.delete("Contact", contact_id)
        return None

    def advance_lead(self) -> dict[str, Any] | None:
        """Move an open lead one status on (Open → Working → Closed)."""
        open_leads = [
            lead
            for lead in self.emulator.records("Lead")
            if not lead["Status"].startswith("Closed")
        ]
        if not open_leads:
            return None
        lead = self.rng.choice(open_leads)
        position = LEAD_STATUSES.index(lead["Status"])
        status = (
            LEAD_STATUSES[position + 1] if position == 0 else self.rng.choice(LEAD_STATUSES[2:])
        )
        return self.emulator.update("Lead", lead["Id"], {"Status": status})

    def advance_opportunity(self, *, win: bool | None = None) -> dict[str, Any] | None:
        """Move an open opportunity one stage on; from the last open stage it closes (won or lost)."""
        open_deals = [
            deal
            for deal in self.emulator.records("Opportunity")
            if deal["StageName"] in OPEN_STAGES
        ]
        if not open_deals:
            self.new_opportunity()
            return None
        deal = self.rng.choice(open_deals)
        position = OPEN_STAGES.index(deal["StageName"])
        if win is not None:
            stage = "Closed Won" if win else "Closed Lost"
        elif position + 1 < len(OPEN_STAGES):
            stage = OPEN_STAGES[position + 1]
        else:
            stage = "Closed Won" if self.rng.random() < 0.7 else "Closed Lost"
        changes: dict[str, Any] = {"StageName": stage}
        if stage.startswith("Closed"):
            changes["CloseDate"] = date.today().isoformat()
            self.new_opportunity()
        return self.emulator.update("Opportunity", deal["Id"], changes)

    def new_opportunity(self) -> dict[str, Any]:
        """A new deal in Prospecting for a random contact's account."""
        contacts = [c for c in self.emulator.records("Contact") if not c.get("IsDeleted")]
        contact = self.rng.choice(contacts)
        deal = self.emulator.create(
            "Opportunity",
            {
                "Name": f"{contact.get('LastName', 'New')} - Expansion {self.rng.randrange(100, 999)}",
                "StageName": "Prospecting",
                "Amount": self.rng.randrange(5, 250) * 1000,
                "CloseDate": (date.today() + timedelta(days=30)).isoformat(),
                "AccountId": contact.get("AccountId"),
                "OwnerId": contact.get("OwnerId"),
                "ContactId": contact["Id"],
            },
        )
        self.new_deals.append(deal)
        return deal

    def opened_deals(self) -> list[str]:
        """A line for each deal opened since the last call (and forget them)."""
        lines = [
            f"new deal {deal['Name']} → {deal['StageName']} (${deal.get('Amount') or 0:,.0f})"
            for deal in self.new_deals
        ]
        self.new_deals.clear()
        return lines

    def tick(self) -> list[str]:
        """One round of activity: a new contact, a lead moved on, a deal moved on; a deletion now and then."""
        done = []
        self.rounds += 1
        if self.rounds % DELETE_EVERY == 0:
            gone = self.delete_contact()
            if gone:
                done.append(f"deleted contact {gone['FirstName']} {gone['LastName']}")
        contact = self.new_contact()
        done.append(f"new contact {contact['FirstName']} {contact['LastName']}")
        lead = self.advance_lead()
        if lead:
            done.append(f"lead {lead['FirstName']} {lead['LastName']} → {lead['Status']}")
        deal = self.advance_opportunity()
        if deal:
            done.append(f"deal {deal['Name']} → {deal['StageName']}")
        done.extend(self.opened_deals())
        return done
