"""The three example zaps of SPEC §1, written inline as test inputs."""

from __future__ import annotations

import copy
from typing import Any

NEW_CONTACT: dict[str, Any] = {
    "id": "new-contact-to-profile",
    "name": "New Salesforce contact → CleverTap profile",
    "enabled": True,
    "schedule": {"every": "5m"},
    "trigger": {
        "app": "salesforce",
        "event": "new_record",
        "connection": "salesforce",
        "params": {
            "object": "Contact",
            "fields": [
                "Id",
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "CreatedDate",
                "Lead_Status__c",
            ],
        },
        "start": "now",
    },
    "steps": [
        {
            "id": "profile",
            "app": "clevertap",
            "action": "upload_profile",
            "connection": "clevertap",
            "params": {
                "identity": "{{trigger.Email}}",
                "ts": "{{trigger.CreatedDate}}",
                "profile": {
                    "Name": "{{trigger.FirstName}} {{trigger.LastName}}",
                    "Email": "{{trigger.Email}}",
                    "Phone": "{{trigger.Phone}}",
                    "Lead Status": "{{trigger.Lead_Status__c}}",
                },
            },
        }
    ],
}

STAGE_UPDATE: dict[str, Any] = {
    "id": "stage-to-profile",
    "name": "Opportunity stage change → CleverTap profile",
    "schedule": {"every": "1m"},
    "trigger": {
        "app": "salesforce",
        "event": "updated_record",
        "params": {
            "object": "Opportunity",
            "fields": ["Id", "StageName", "SystemModstamp", "Contact__r.Email"],
            "watch_fields": ["StageName"],
        },
    },
    "steps": [
        {"id": "moved", "filter": [{"field": "{{trigger.StageName}}", "op": "changed"}]},
        {
            "id": "profile",
            "app": "clevertap",
            "action": "upload_profile",
            "params": {
                "identity": "{{trigger.Contact__r.Email}}",
                "profile": {"Sales Stage": "{{trigger.StageName}}"},
            },
        },
    ],
}

CLOSED_WON: dict[str, Any] = {
    "id": "closed-won-event",
    "schedule": {"cron": "*/5 * * * *"},
    "trigger": {
        "app": "salesforce",
        "event": "updated_record",
        "connection": "salesforce",
        "params": {"object": "Opportunity", "watch_fields": ["StageName"]},
        "start": "2026-01-01T00:00:00Z",
    },
    "steps": [
        {
            "id": "won",
            "filter": [
                {"field": "{{trigger.StageName}}", "op": "equals", "value": "Closed Won"},
                {"field": "{{trigger.StageName}}", "op": "changed"},
            ],
        },
        {
            "id": "deal",
            "app": "clevertap",
            "action": "upload_event",
            "connection": "clevertap",
            "params": {
                "identity": "{{trigger.Owner.Email}}",
                "event_name": "Deal Closed",
                "event_properties": {
                    "Amount": "{{trigger.Amount}}",
                    "Close Date": "{{trigger.CloseDate}}",
                    "Salesperson": "{{trigger.Owner.Name}}",
                },
            },
        },
    ],
}

EXAMPLES = {"new_contact": NEW_CONTACT, "stage_update": STAGE_UPDATE, "closed_won": CLOSED_WON}


def zap_data(name: str = "new_contact") -> dict[str, Any]:
    """A deep copy of one example zap, to change in a test."""
    return copy.deepcopy(EXAMPLES[name])
