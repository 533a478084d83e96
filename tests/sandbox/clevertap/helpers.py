"""Record builders and constants shared by the CleverTap emulator tests."""

from __future__ import annotations

from typing import Any

ACCOUNT_ID = "TEST-ZAP-LITE"  # the emulator's default account and passcode
PASSCODE = "SANDBOX-PASSCODE"
AUTH = {"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": PASSCODE}


def profile(identity: Any = "jack@example.com", **data: Any) -> dict[str, Any]:
    """A valid profile record; ``data`` becomes ``profileData``."""
    return {"identity": identity, "ts": 1468308340, "type": "profile", "profileData": data}


def event(
    identity: Any = "jack@example.com", name: str = "Deal Closed", **data: Any
) -> dict[str, Any]:
    """A valid event record; ``data`` becomes ``evtData``."""
    return {
        "identity": identity,
        "ts": 1468208340,
        "type": "event",
        "evtName": name,
        "evtData": data,
    }
