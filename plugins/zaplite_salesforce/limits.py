"""Reading the ``Sforce-Limit-Info`` header tolerantly.

Seen forms: ``api-usage=18/5000``, ``api-usage=25/5000; per-app-api-usage=17/250(appName=x)``,
``api-usage=10018/100000; api-bursts=1/750``. Anything that does not parse is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LimitInfo", "Usage", "parse_limit_info"]

_ENTRY = re.compile(
    r"^\s*(?P<name>[A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?P<used>\d+)\s*/\s*(?P<max>\d+)\s*"
    r"(?:\((?P<note>[^)]*)\))?\s*$"
)


@dataclass(frozen=True)
class Usage:
    """One counter of the header: ``used`` of ``limit`` (``note`` is e.g. ``appName=x``)."""

    name: str
    used: int
    limit: int
    note: str | None = None

    def __str__(self) -> str:
        return f"{self.name}={self.used}/{self.limit}"


@dataclass(frozen=True)
class LimitInfo:
    """The counters of one ``Sforce-Limit-Info`` header."""

    entries: tuple[Usage, ...] = ()

    @property
    def api_usage(self) -> Usage | None:
        """The org-wide daily request counter, if the header had it."""
        return next((entry for entry in self.entries if entry.name == "api-usage"), None)

    def summary(self) -> str | None:
        """A short text for logs (``"api-usage=18/5000"``), or ``None`` when nothing parsed."""
        usage = self.api_usage
        if usage is not None:
            return str(usage)
        return "; ".join(str(entry) for entry in self.entries) or None


def parse_limit_info(header: str | None) -> LimitInfo:
    """Parse the header's counters, skipping any part that is not ``name=used/max``."""
    if not header:
        return LimitInfo()
    entries = []
    for part in re.split(r"[;,]", header):
        match = _ENTRY.match(part)
        if match:
            entries.append(
                Usage(
                    name=match["name"].lower(),
                    used=int(match["used"]),
                    limit=int(match["max"]),
                    note=match["note"],
                )
            )
    return LimitInfo(tuple(entries))
