"""The last line of defence: every secret this process knows is masked in what the server sends.

Secrets are masked where they are shown (connection settings) and never stored in the
history, but a service may echo one back in an error, or a zap may map one into a
param. The redactor knows every connection's secret values (``SecretStr`` fields and
values of settings named like secrets), the console's token and the store's password,
and the server runs each page it renders through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from zaplite.project.connections import looks_secret

__all__ = ["MASK", "Redactor"]

MASK = "****"
MIN_SECRET = 6
"""Shorter values are not masked: "on" or "1234" would mask ordinary text."""


class Redactor:
    """Replaces known secret values in text with ``****``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Know these values as secrets too."""
        self._secrets.update(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET)
        if self._secrets:
            # Longest first, so that a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        """``text`` with every known secret masked."""
        if self._pattern is None or not text:
            return text
        if not any(secret in text for secret in self._secrets):  # a substring search is fast
            return text
        return self._pattern.sub(MASK, text)

    def __len__(self) -> int:
        return len(self._secrets)


def secret_values(settings: Any, raw: dict[str, Any]) -> list[str]:
    """The secret values of a connection: its ``SecretStr`` settings and secret-looking keys."""
    found: list[str] = []
    if settings is not None:
        for _name, value in settings:
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
    for key, value in raw.items():
        if isinstance(value, str) and looks_secret(key):
            found.append(value)
    return found
