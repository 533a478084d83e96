"""Realistic demo data for the emulator: sales reps, accounts, contacts, leads, opportunities.

Deterministic for a given seed, and dated in the past (over the last 30 days), so that a
zap that starts "now" sees none of it until something new happens.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .data import now_ms
from .schema import (
    CONTACT_LEAD_STATUSES,
    INDUSTRIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
)

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator

__all__ = ["seed_demo_data"]

FIRST_NAMES = (
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Linus", "Radia", "Ken",
    "Frances", "John", "Katherine", "Tim", "Hedy", "Dennis", "Shafi", "Niklaus", "Sophie", "Guido",
    "Anita", "Bjarne", "Lynn", "Vint", "Evelyn", "James", "Mary", "Leslie", "Jean", "Carl",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Torvalds",
    "Perlman", "Thompson", "Allen", "McCarthy", "Johnson", "Berners-Lee", "Lamarr", "Ritchie",
    "Goldwasser", "Wirth", "Wilson", "van Rossum", "Borg", "Stroustrup", "Conway", "Cerf",
    "Boyd", "Gosling", "Shaw", "Lamport", "Bartik", "Sagan",
)  # fmt: skip
COMPANIES = (
    "Acme Robotics", "Globex", "Initech", "Umbrella Health", "Stark Retail", "Wayne Finance",
    "Hooli", "Vandelay Imports", "Soylent Foods", "Tyrell Media", "Cyberdyne", "Wonka Industries",
)  # fmt: skip
REPS = (("Priya", "Sharma"), ("Marcus", "Chen"), ("Elena", "Rossi"), ("Tom", "Okafor"))
CITIES = ("Bengaluru", "Mumbai", "Singapore", "London", "San Francisco", "Dubai")


def seed_demo_data(emu: SalesforceEmulator, *, seed: int = 7) -> dict[str, int]:
    """Add the demo org's data to ``emu``; returns how many records of each object were added."""
    rng = random.Random(seed)
    now = now_ms()

    def past(days_max: int = 30) -> object:
        return now - timedelta(days=rng.uniform(1, days_max), seconds=rng.randint(0, 3600))

    reps = [
        emu.create(
            "User",
            {
                "FirstName": first,
                "LastName": last,
                "Username": f"{first.lower()}.{last.lower()}@zaplite.sandbox",
                "Email": f"{first.lower()}.{last.lower()}@example.com",
                "Alias": (first[0] + last[:4]).lower(),
                "Title": "Account Executive",
            },
            timestamp=now - timedelta(days=60),
        )
        for first, last in REPS
    ]
    accounts = [
        emu.create(
            "Account",
            {
                "Name": name,
                "Industry": INDUSTRIES[index % len(INDUSTRIES)],
                "BillingCity": rng.choice(CITIES),
                "Website": f"https://www.{name.split()[0].lower()}.example",
                "AnnualRevenue": rng.randrange(1, 500) * 100_000,
                "NumberOfEmployees": rng.randrange(10, 5000),
                "OwnerId": rng.choice(reps)["Id"],
            },
            timestamp=past(45),
        )
        for index, name in enumerate(COMPANIES[:8])
    ]
    contacts = []
    for index in range(30):
        first, last = FIRST_NAMES[index], LAST_NAMES[index]
        account = accounts[index % len(accounts)]
        contacts.append(
            emu.create(
                "Contact",
                {
                    "FirstName": first,
                    "LastName": last,
                    "Email": f"{first.lower()}.{last.lower().replace(' ', '')}@example.com",
                    "Phone": f"+1415555{index:04d}",
                    "Title": rng.choice(
                        ("CTO", "VP Engineering", "Head of Growth", "CMO", "Founder")
                    ),
                    "AccountId": account["Id"],
                    "OwnerId": account["OwnerId"],
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "Lead_Status__c": rng.choice(CONTACT_LEAD_STATUSES),
                    "MailingCity": rng.choice(CITIES),
                },
                timestamp=past(),
            )
        )
    leads = [
        emu.create(
            "Lead",
            {
                "FirstName": FIRST_NAMES[-1 - index],
                "LastName": LAST_NAMES[index],
                "Company": COMPANIES[8 + index % 4],
                "Status": LEAD_STATUSES[index % len(LEAD_STATUSES)],
                "Title": rng.choice(("Director", "Manager", "Engineer")),
                "Email": f"lead{index}@{COMPANIES[8 + index % 4].split()[0].lower()}.example",
                "Phone": f"+1212555{index:04d}",
                "LeadSource": rng.choice(LEAD_SOURCES),
                "OwnerId": rng.choice(reps)["Id"],
            },
            timestamp=past(),
        )
        for index in range(12)
    ]
    stages = list(OPPORTUNITY_STAGES)
    opportunities = [
        emu.create(
            "Opportunity",
            {
                "Name": f"{accounts[index % len(accounts)]['Name']} - Deal {index + 1}",
                "AccountId": accounts[index % len(accounts)]["Id"],
                "StageName": stages[index % len(stages)],
                "Amount": rng.randrange(5, 250) * 1000,
                "CloseDate": date.today() + timedelta(days=rng.randint(-20, 60)),
                "OwnerId": accounts[index % len(accounts)]["OwnerId"],
                "ContactId": contacts[index % len(contacts)]["Id"],
                "LeadSource": rng.choice(LEAD_SOURCES),
            },
            timestamp=past(),
        )
        for index in range(15)
    ]
    return {
        "User": len(reps),
        "Account": len(accounts),
        "Contact": len(contacts),
        "Lead": len(leads),
        "Opportunity": len(opportunities),
    }
