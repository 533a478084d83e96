"""Zaps for tests: the shipped examples read from ``zaps/``, and one new-contact zap to vary.

The examples are read from the repository's ``zaps/`` folder (what ``zaplite init`` and
``zaplite demo`` copy), so a test of "the examples" tests exactly what users get.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from tests.support.paths import ZAPS

__all__ = ["CONTACT_FIELDS", "NAME", "contact_zap", "shipped_zap", "shipped_zap_ids"]

CONTACT_FIELDS = ["FirstName", "LastName", "Email", "Phone", "CreatedDate"]
"""The contact fields :func:`contact_zap` reads unless told otherwise."""

NAME = "{{trigger.FirstName}} {{trigger.LastName}}"
"""The template of a contact's full name."""


@cache
def _shipped() -> dict[str, dict[str, Any]]:
    zaps = (json.loads(path.read_text(encoding="utf-8")) for path in sorted(ZAPS.glob("*.json")))
    return {zap["id"]: zap for zap in zaps}


def shipped_zap_ids() -> list[str]:
    """The ids of the example zaps in ``zaps/``, sorted."""
    return sorted(_shipped())


def shipped_zap(zap_id: str) -> dict[str, Any]:
    """A deep copy of the shipped example zap ``zap_id``, to change in a test."""
    return copy.deepcopy(_shipped()[zap_id])


def contact_zap(
    zap_id: str = "new-contacts",
    *,
    sf: str | None = None,
    ct: str | None = None,
    every: str = "5m",
    start: str = "now",
    fields: list[str] | None = None,
    profile: dict[str, Any] | None = None,
    phone: bool = False,
) -> dict[str, Any]:
    """A new-contact → CleverTap profile zap, keyed by email, stamped with ``CreatedDate``.

    ``sf`` and ``ct`` name the connections (default: the app's own); ``profile`` replaces
    the default Name and Email properties, and ``phone`` adds the contact's phone to them.
    """
    if profile is None:
        profile = {"Name": NAME, "Email": "{{trigger.Email}}"}
        if phone:
            profile["Phone"] = "{{trigger.Phone}}"
    trigger: dict[str, Any] = {
        "app": "salesforce",
        "event": "new_contact",
        "params": {"fields": list(fields or CONTACT_FIELDS)},
        "start": start,
    }
    step: dict[str, Any] = {
        "id": "profile",
        "app": "clevertap",
        "action": "upload_profile",
        "params": {
            "identity": "{{trigger.Email}}",
            "ts": "{{trigger.CreatedDate}}",
            "profile": profile,
        },
    }
    if sf is not None:
        trigger["connection"] = sf
    if ct is not None:
        step["connection"] = ct
    return {"id": zap_id, "schedule": {"every": every}, "trigger": trigger, "steps": [step]}
