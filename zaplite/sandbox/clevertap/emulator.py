"""``CleverTapEmulator``: the object tests, the sandbox and benchmarks hold."""

from __future__ import annotations

from typing import Any

from zaplite.sandbox.clevertap.app import build_app
from zaplite.sandbox.clevertap.faults import Fault, FaultQueue
from zaplite.sandbox.clevertap.responses import UNPROCESSED_FORMS
from zaplite.sandbox.clevertap.state import EmulatorState
from zaplite.sandbox.server import RunningServer, serve_in_thread

__all__ = ["CleverTapEmulator"]

_STANDARD_FIELDS = {"Name": "name", "Email": "email", "Phone": "phone", "Gender": "gender"}


class CleverTapEmulator:
    """A local CleverTap Upload API: validates like the real service and stores what it accepts.

    Serve ``emu.app`` (ASGI), e.g. with ``emu.serve()`` or
    ``zaplite.sandbox.server.serve_in_thread(emu.app)``; inspect ``profiles``, ``events`` and
    ``requests``; script faults with ``fail_next``/``drop_next``/``latency``.

    ``unprocessed_form`` chooses how ``unprocessed[].record`` is echoed: ``"string"`` (a JSON
    string), ``"object"``, or ``"mixed"`` (alternating, string first). ``partial_status`` is the
    top-level ``status`` of a response with both processed and unprocessed records
    (``"success"`` as in CleverTap's docs; ``"partial"`` has also been seen in the wild).
    ``retry_after_429`` adds a ``Retry-After`` header to concurrency 429s.
    ``request_log_limit`` bounds ``requests`` (oldest dropped) for long benchmark runs.
    """

    def __init__(
        self,
        account_id: str = "TEST-ZAP-LITE",
        passcode: str = "SANDBOX-PASSCODE",
        *,
        unprocessed_form: str = "string",
        max_concurrent: int = 15,
        max_batch: int = 1000,
        latency: float = 0.0,
        retry_after_429: float | str | None = None,
        partial_status: str = "success",
        request_log_limit: int | None = None,
    ) -> None:
        self.account_id = account_id
        self.passcode = passcode
        self._defaults: dict[str, Any] = {
            "unprocessed_form": unprocessed_form,
            "max_concurrent": max_concurrent,
            "latency": latency,
            "retry_after_429": retry_after_429,
        }
        self.max_batch = max_batch
        self.partial_status = partial_status
        self.state = EmulatorState(request_log_limit)
        self.faults = FaultQueue()
        self._unprocessed_form = "string"
        self.max_concurrent = max_concurrent
        self.latency = latency
        self.retry_after_429 = retry_after_429
        self.unprocessed_form = unprocessed_form
        self.app: Any = build_app(self)

    def __repr__(self) -> str:
        return f"CleverTapEmulator(account_id={self.account_id!r}, passcode='***')"

    # -- what was received and stored ---------------------------------------------------

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        """Stored profiles: identity (or objectId) → ``{"identity", "profileData", "ts"}``."""
        return self.state.profiles

    @property
    def events(self) -> list[dict[str, Any]]:
        """Stored events: ``{"identity"/"objectId", "evtName", "evtData", "ts"}``, oldest first."""
        return self.state.events

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Upload requests received: ``{"headers" (passcode masked), "body", "status"}``.

        ``body`` is the parsed JSON (the raw text when it was not JSON); ``status`` 0 means
        the connection was dropped on purpose.
        """
        return self.state.requests

    @property
    def upload_count(self) -> int:
        """How many ``POST /1/upload`` requests arrived (any outcome)."""
        return self.state.upload_count

    # -- settings -----------------------------------------------------------------------

    @property
    def unprocessed_form(self) -> str:
        """``"string"``, ``"object"`` or ``"mixed"``: how unprocessed records are echoed."""
        return self._unprocessed_form

    @unprocessed_form.setter
    def unprocessed_form(self, value: str) -> None:
        if value not in UNPROCESSED_FORMS:
            raise ValueError(f"unprocessed_form must be one of {', '.join(UNPROCESSED_FORMS)}")
        self._unprocessed_form = value

    # -- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        body: Any = None,
        retry_after: float | str | None = None,
    ) -> None:
        """Answer the next ``n`` authenticated upload requests with ``status`` and ``body``.

        ``body`` ``None`` gives ``{"status": "fail", "error": <reason>, "code": status}``; a
        ``str`` is sent as text, anything else as JSON. ``retry_after`` sets ``Retry-After``.
        Faults queue up in order with those of :meth:`drop_next`.
        """
        self.faults.add(Fault("fail", status=status, body=body, retry_after=retry_after), n)

    def drop_next(self, n: int = 1, after_processing: bool = False) -> None:
        """Close the connection of the next ``n`` upload requests without answering.

        With ``after_processing`` the records are validated and stored first, the way a
        response lost on the way back looks to a client.
        """
        self.faults.add(Fault("drop_after" if after_processing else "drop"), n)

    def reset(self) -> None:
        """Forget everything stored, logged and queued; settings go back to the constructor's."""
        self.faults.clear()
        self.state.clear()
        self.unprocessed_form = self._defaults["unprocessed_form"]
        self.max_concurrent = self._defaults["max_concurrent"]
        self.latency = self._defaults["latency"]
        self.retry_after_429 = self._defaults["retry_after_429"]

    # -- reading --------------------------------------------------------------------------

    def profile_record(self, profile: dict[str, Any]) -> dict[str, Any]:
        """A stored profile in the shape of ``GET /1/profile.json``'s ``record``.

        Standard fields (Name, Email, Phone, Gender) are also given lower-case at the top
        level, and ``events`` counts this user's events by name with first/last ``ts``.
        """
        record: dict[str, Any] = {}
        for key in ("identity", "objectId"):
            if key in profile:
                record[key] = profile[key]
        data = profile["profileData"]
        for field, alias in _STANDARD_FIELDS.items():
            if field in data:
                record[alias] = data[field]
        record["profileData"] = dict(data)
        record["ts"] = profile["ts"]
        summary: dict[str, dict[str, int]] = {}
        key = profile.get("identity", profile.get("objectId"))
        for event in self.state.events_of(str(key)):
            seen = summary.setdefault(
                event["evtName"], {"count": 0, "first_seen": event["ts"], "last_seen": event["ts"]}
            )
            seen["count"] += 1
            seen["first_seen"] = min(seen["first_seen"], event["ts"])
            seen["last_seen"] = max(seen["last_seen"], event["ts"])
        record["events"] = summary
        return record

    def stats(self) -> dict[str, Any]:
        """Counters and current settings, as ``GET /__admin/stats`` shows them."""
        state = self.state
        with state.lock:
            counts = {
                "upload_count": state.upload_count,
                "profiles": len(state.profiles),
                "events": len(state.events),
                "requests_logged": len(state.requests),
                "processed": state.processed,
                "unprocessed": state.unprocessed,
                "throttled": state.throttled,
                "deleted": state.deleted,
                "in_flight": state.in_flight,
                "peak_in_flight": state.peak_in_flight,
            }
        return {
            **counts,
            "latency": self.latency,
            "unprocessed_form": self.unprocessed_form,
            "max_concurrent": self.max_concurrent,
            "max_batch": self.max_batch,
            "retry_after_429": self.retry_after_429,
            "pending_faults": self.faults.pending(),
        }

    def serve(self, host: str = "127.0.0.1", port: int | None = None) -> RunningServer:
        """Serve this emulator in a daemon thread; use the result as a context manager."""
        return serve_in_thread(self.app, host=host, port=port)
