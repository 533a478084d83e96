"""``SalesActivity``: what ``zaplite sandbox --activity`` does to the Salesforce emulator."""

from __future__ import annotations

from zaplite.sandbox.activity import DELETE_EVERY, SalesActivity
from zaplite.sandbox.salesforce import SalesforceEmulator


def test_every_few_rounds_a_contact_it_created_is_deleted() -> None:
    emu = SalesforceEmulator()
    emu.seed_demo_data()
    activity = SalesActivity(emu, seed=3)
    done = [line for _ in range(DELETE_EVERY * 2) for line in activity.tick()]
    deleted = [c for c in emu.records("Contact") if c["IsDeleted"]]
    assert len(deleted) == 2
    assert sum(line.startswith("deleted contact") for line in done) == 2
    assert all(c["Email"].endswith("@example.com") for c in deleted)
