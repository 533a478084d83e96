"""A connection's secret as zaplite hands it to a plugin: its value, its origin, its rotation.

Every ``SecretStr`` setting of a connection reaches the plugin as a :class:`KeptSecret`
(a ``SecretStr``, so plugins that only read it need not know). A service that rotates
a credential (Salesforce can answer every refresh with a new refresh token and revoke
the old one) is signed in to through :meth:`KeptSecret.rotate`: zaplite saves the new
value before the plugin gets the result, and lets one process at a time exchange it
when several daemons share the vault.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol, TypeVar

from pydantic import SecretStr

__all__ = ["Exchange", "KeptSecret", "SecretKeeper", "SecretSource"]

T = TypeVar("T")

SecretSource = Literal["vault", "env", "file"]
"""Where a secret comes from: the vault in the store, a ``${VAR}``, or the config file itself."""

Exchange = Callable[[str], Awaitable[tuple[T, str | None]]]
"""``async def exchange(current) -> (result, new_value_or_None)``: one use of a rotating secret."""

log = logging.getLogger("zaplite.secrets")


class SecretKeeper(Protocol):
    """What keeps a vault secret: gives :meth:`KeptSecret.rotate` its current value and saves the next."""

    async def rotate(self, secret: KeptSecret, exchange: Exchange[T]) -> T:
        """Run ``exchange`` with the stored value, saving any new value before returning."""
        ...


class KeptSecret(SecretStr):
    """A connection's secret, with where it comes from and how a rotated value is kept.

    - ``connection`` and ``name``: whose secret and which (``"salesforce"``, ``"refresh_token"``).
    - ``source``: ``"vault"``, ``"env"`` or ``"file"``; ``where`` says it for people
      (``"the vault"``, ``"${SF_REFRESH_TOKEN}"``, ``"zaplite.toml"``).
    - :meth:`rotate`: use the secret with a service that may hand back a replacement.
    """

    def __init__(
        self,
        value: str,
        *,
        connection: str,
        name: str,
        source: SecretSource,
        where: str,
        keeper: SecretKeeper | None = None,
    ) -> None:
        super().__init__(value)
        self.connection = connection
        self.name = name
        self.source: SecretSource = source
        self.where = where
        self._keeper = keeper
        self._warned = False

    def replace_value(self, value: str) -> None:
        """Use ``value`` from now on in this process (the keeper has saved it, or cannot)."""
        self._secret_value = value

    async def rotate(self, exchange: Exchange[T]) -> T:
        """Call ``exchange(current)``; a new value it returns is kept before its result is.

        A vault secret is claimed in the store for the exchange (no other daemon uses it
        meanwhile) and the new value is saved there before this returns. A secret from
        ``${VAR}`` or the config file cannot be saved: the new value is used by this
        process only, and a warning says so once.
        """
        if self._keeper is not None:
            return await self._keeper.rotate(self, exchange)
        result, new = await exchange(self.get_secret_value())
        if new and new != self.get_secret_value():
            self.replace_value(new)
            if not self._warned:
                self._warned = True
                log.warning(
                    "The service rotated the %s of connection %r, which comes from %s: "
                    "zaplite cannot save the new one there, so this process uses it until it "
                    "stops and %s then holds one that no longer works; keep it in the vault "
                    "with `zaplite connect`.",
                    self.name,
                    self.connection,
                    self.where,
                    self.where,
                )
        return result
