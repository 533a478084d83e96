"""A local emulator of CleverTap's Upload API (``POST /1/upload``, ``GET /1/profile.json``).

It checks each record with the real service's codes and messages, stores what it accepts,
limits concurrency and batch size, and can inject faults::

    from zaplite.sandbox.clevertap import CleverTapEmulator

    emu = CleverTapEmulator(account_id="TEST-ZAP-LITE", passcode="SANDBOX-PASSCODE")
    with emu.serve() as server:          # or serve_in_thread(emu.app)
        ...                              # POST {server.url}/1/upload with the account headers
        emu.fail_next(2, status=503, retry_after=1)
        emu.drop_next(1, after_processing=True)
        emu.profiles["jack@example.com"]["profileData"]

Standalone (benchmarks, other processes): ``python -m zaplite.sandbox.clevertap --port N``,
steered through ``/__admin/`` (see :mod:`zaplite.sandbox.clevertap.admin`); measure with
``python -m zaplite.sandbox.clevertap.bench``.

Choices where the real service is not documented (all easy to change in one place):

- key over 120 bytes or string value over 512 bytes: code 512, for profiles and events
  (:mod:`~zaplite.sandbox.clevertap.validation`);
- a ``ts`` above 9,999,999,999 is taken as milliseconds and refused with 525; ``"ts": null``
  is refused too, a missing ``ts`` means now;
- ``Gender``/``Email``/``Phone`` set to ``null`` are not checked; an empty string is invalid;
- order of the request checks: credentials (401), concurrency (429), latency, queued fault,
  JSON and ``d`` (400), batch size (400), then the records; every outcome is HTTP 200 once the
  records are looked at, with ``status`` ``"fail"`` only when none was processed;
- ``GET /1/profile.json`` for an unknown user answers HTTP 200
  ``{"status": "fail", "error": "Profile not found.", "code": 404}``.
"""

from __future__ import annotations

from zaplite.sandbox.clevertap.emulator import CleverTapEmulator
from zaplite.sandbox.clevertap.validation import RESTRICTED_EVENTS, check_record

__all__ = ["RESTRICTED_EVENTS", "CleverTapEmulator", "check_record"]
