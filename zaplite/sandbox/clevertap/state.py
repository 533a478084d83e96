"""What the emulator remembers: profiles, events, the request log and counters.

Mutations happen under one lock, so the server thread and a test thread (``reset()``,
reading ``profiles``) never see a half-applied batch. Containers are cleared in place,
so references a test holds stay valid across ``clear()``.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["MASKED", "EmulatorState", "mask_headers", "record_key"]

MASKED = "***"
_SECRET_HEADERS = frozenset({"x-clevertap-passcode", "authorization", "cookie"})


def mask_headers(headers: Any) -> dict[str, str]:
    """The request headers as a dict with the passcode (and any credential header) masked."""
    return {
        key: (MASKED if key.lower() in _SECRET_HEADERS else value) for key, value in headers.items()
    }


def record_key(record: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """``(key, identity, objectId)`` of a validated record; the key is the identity if any."""
    identity = record.get("identity")
    ident = None if identity is None or identity == "" else str(identity)
    object_id = record.get("objectId")
    key = ident if ident is not None else str(object_id)
    return key, ident, object_id


class EmulatorState:
    """Stored profiles and events, the log of upload requests, and request counters."""

    def __init__(self, request_log_limit: int | None = None) -> None:
        self.lock = threading.Lock()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.request_log_limit = request_log_limit
        self._zero_counters()

    def _zero_counters(self) -> None:
        """Every counter back to 0 (under the lock, or before another thread has the state)."""
        self.upload_count = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.processed = 0
        self.unprocessed = 0
        self.throttled = 0
        self.deleted = 0

    def clear(self) -> None:
        """Forget every profile, event, logged request and counter."""
        with self.lock:
            self.profiles.clear()
            self.events.clear()
            self.requests.clear()
            self._zero_counters()

    def log_request(self, headers: Any, body: Any, status: int) -> None:
        """Log one upload request (passcode masked); ``status`` 0: the connection was dropped."""
        entry = {"headers": mask_headers(headers), "body": body, "status": status}
        with self.lock:
            self.requests.append(entry)
            limit = self.request_log_limit
            if limit is not None and len(self.requests) > limit + max(limit // 4, 16):
                del self.requests[: len(self.requests) - limit]

    def store(self, records: list[dict[str, Any]], now: int) -> None:
        """Apply validated records: profiles upsert (``profileData`` merged), events append."""
        with self.lock:
            profiles = self.profiles
            for record in records:
                key, ident, object_id = record_key(record)
                ts = record.get("ts", now)
                profile = profiles.get(key)
                if profile is None:
                    profile = {"profileData": {}, "ts": ts}
                    if ident is not None:
                        profile["identity"] = ident
                    profiles[key] = profile
                if object_id is not None:
                    profile["objectId"] = object_id
                if record["type"] == "profile":
                    profile["profileData"].update(record["profileData"])
                    profile["ts"] = ts
                    continue
                event: dict[str, Any] = {"identity": ident} if ident is not None else {}
                if object_id is not None:
                    event["objectId"] = object_id
                event["evtName"] = record["evtName"]
                event["evtData"] = record.get("evtData", {})
                event["ts"] = ts
                self.events.append(event)

    def delete(self, identities: list[str], guids: list[str]) -> int:
        """Delete the profiles (and their events) with these identities or objectIds; how many."""
        with self.lock:
            doomed = {key for key in identities if key in self.profiles}
            wanted = set(guids)
            if wanted:
                doomed.update(
                    key
                    for key, profile in self.profiles.items()
                    if key in wanted or profile.get("objectId") in wanted
                )
            for key in doomed:
                del self.profiles[key]
            if doomed:
                self.events[:] = [
                    e for e in self.events if e.get("identity", e.get("objectId")) not in doomed
                ]
            self.deleted += len(doomed)
            return len(doomed)

    def find_profile(
        self, identity: str | None = None, email: str | None = None, object_id: str | None = None
    ) -> dict[str, Any] | None:
        """The stored profile with this identity, objectId or (case-insensitive) Email."""
        with self.lock:
            if identity is not None:
                return self.profiles.get(identity)
            if object_id is not None:
                found = self.profiles.get(object_id)
                if found is not None:
                    return found
                return next(
                    (p for p in self.profiles.values() if p.get("objectId") == object_id), None
                )
            if email is not None:
                wanted = email.lower()
                for profile in self.profiles.values():
                    value = profile["profileData"].get("Email")
                    if isinstance(value, str) and value.lower() == wanted:
                        return profile
            return None

    def events_of(self, key: str) -> list[dict[str, Any]]:
        """The stored events of the user with identity (or objectId) ``key``."""
        with self.lock:
            return [e for e in self.events if e.get("identity", e.get("objectId")) == key]
