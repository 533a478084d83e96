"""The CleverTap connection: settings, region hosts, and a client with one pooled httpx client."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from zaplite.errors import AuthError, PluginError
from zaplite.tls import client_context

__all__ = [
    "DEFAULT_REGION",
    "REGIONS",
    "CleverTapClient",
    "CleverTapConnection",
    "check_credentials",
    "connect",
]

REGIONS: dict[str, str] = {
    "eu1": "api.clevertap.com",
    "in1": "in1.api.clevertap.com",
    "sg1": "sg1.api.clevertap.com",
    "us1": "us1.api.clevertap.com",
    "aps3": "aps3.api.clevertap.com",
    "mec1": "mec1.api.clevertap.com",
}
"""CleverTap's regions and the host of each (``eu1`` is the default host, ``api.clevertap.com``)."""

DEFAULT_REGION = "eu1"

UPLOAD_PATH = "/1/upload"
DELETE_PATH = "/1/delete/profiles.json"
PROFILE_PATH = "/1/profile.json"
TEST_IDENTITY = "zaplite-connection-test"
"""The identity ``check_credentials`` reads: a read never creates or changes anything."""


class CleverTapConnection(BaseModel):
    """A ``[connections.NAME]`` table with ``app = "clevertap"``.

    ``endpoint`` (a proxy or the sandbox emulator) overrides the host ``region`` names.
    Transient faults are retried by the engine, by ``[settings] retry_*``.
    """

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, description="CleverTap Account ID (Settings → Project).")
    passcode: SecretStr = Field(description="CleverTap account passcode.")
    region: str = Field(DEFAULT_REGION, description=f"Account region: one of {', '.join(REGIONS)}.")
    endpoint: str | None = Field(
        None, description="Base URL overriding the region host (a proxy or the sandbox)."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for one HTTP request.")
    batch_size: int = Field(1000, ge=1, le=1000, description="Records per upload request.")
    max_concurrency: int = Field(
        15,
        ge=1,
        le=15,
        description=(
            "Upload requests in flight at once for this account, shared by every connection "
            "table with the same account, region and value."
        ),
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().lower()
        if region not in REGIONS:
            raise ValueError(
                f"unknown CleverTap region {value!r}; valid regions are {', '.join(REGIONS)}"
            )
        return region

    @field_validator("endpoint")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"endpoint {value!r} must start with http:// or https://")
        return url

    @property
    def base_url(self) -> str:
        """The URL requests go to: ``endpoint`` if set, else the region's host over HTTPS."""
        return self.endpoint or f"https://{REGIONS[self.region]}"

    @property
    def where(self) -> str:
        """How messages name the account: ``account X in region in1`` (``via <endpoint>``)."""
        where = f"account {self.account_id} in region {self.region}"
        return f"{where} via {self.endpoint}" if self.endpoint else where


_ACCOUNT_LIMITS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()
"""Per event loop: one concurrency limit per (host, account, max_concurrency)."""


@dataclass
class CleverTapClient:
    """A connected CleverTap account: one pooled ``httpx.AsyncClient`` and one concurrency limit.

    Every upload through this client holds ``semaphore`` while its HTTP request is in
    flight, so at most ``settings.max_concurrency`` requests run at once per account.
    """

    settings: CleverTapConnection
    http: httpx.AsyncClient

    @property
    def semaphore(self) -> asyncio.Semaphore:
        """The account's concurrency limit, shared by every connection to the same account.

        CleverTap limits concurrent requests per account (15), not per API client: two
        connection tables for one account (say, one for profiles and one for events)
        share one limit in this process, so together they never go past it. Connections
        with different ``max_concurrency`` values keep separate limits.
        """
        loop = asyncio.get_running_loop()
        limits = _ACCOUNT_LIMITS.get(loop)
        if limits is None:
            limits = _ACCOUNT_LIMITS[loop] = {}
        settings = self.settings
        key = (settings.base_url, settings.account_id, settings.max_concurrency)
        limit = limits.get(key)
        if limit is None:
            limit = limits[key] = asyncio.Semaphore(settings.max_concurrency)
        return limit

    @property
    def upload_url(self) -> str:
        """The full URL of ``POST /1/upload``."""
        return f"{self.settings.base_url}{UPLOAD_PATH}"

    @property
    def delete_url(self) -> str:
        """The full URL of ``POST /1/delete/profiles.json``."""
        return f"{self.settings.base_url}{DELETE_PATH}"

    def headers(self, *, masked: bool = False) -> dict[str, str]:
        """The request headers; ``masked`` replaces the passcode with ``****`` (for showing)."""
        passcode = "****" if masked else self.settings.passcode.get_secret_value()
        return {
            "X-CleverTap-Account-Id": self.settings.account_id,
            "X-CleverTap-Passcode": passcode,
            "Content-Type": "application/json; charset=utf-8",
        }

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"CleverTapClient({self.settings.where})"


def connect(settings: CleverTapConnection) -> CleverTapClient:
    """Open a client for ``settings`` (no request is made until the first upload)."""
    limit = settings.max_concurrency
    http = httpx.AsyncClient(
        verify=client_context(),
        timeout=httpx.Timeout(settings.timeout),
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        headers={"User-Agent": "zaplite-clevertap"},
    )
    return CleverTapClient(settings=settings, http=http)


async def check_credentials(client: CleverTapClient) -> str:
    """Check the account id and passcode with a profile read, which has no side effects.

    ``GET /1/profile.json?identity=zaplite-connection-test`` answers 401 for a wrong
    account id, passcode or region host, and anything else (a profile, or "not
    found") once the credentials are accepted. An upload of an empty ``d`` list was
    not chosen because the real API may refuse an empty payload as malformed (400)
    before it checks the credentials, or count it against the account's quota.
    """
    settings = client.settings
    try:
        async with client.semaphore:
            response = await client.http.get(
                f"{settings.base_url}{PROFILE_PATH}",
                params={"identity": TEST_IDENTITY},
                headers=client.headers(),
            )
    except httpx.HTTPError as error:
        raise PluginError(
            f"could not reach CleverTap for {settings.where}: {type(error).__name__}."
        ) from None
    if response.status_code in (401, 403):
        raise AuthError(auth_message(settings, response), code=response.status_code)
    if response.status_code >= 500:
        raise PluginError(
            f"CleverTap answered HTTP {response.status_code} for {settings.where}; "
            "try again later.",
            code=response.status_code,
        )
    return f"{settings.where}: passcode accepted"


def auth_message(settings: CleverTapConnection, response: httpx.Response) -> str:
    """The one-sentence message for a refused passcode (it never contains the passcode)."""
    said = service_error(response)
    reason = f" ({said})" if said else ""
    return (
        f"CleverTap refused the credentials of {settings.where} with HTTP "
        f"{response.status_code}{reason}; a wrong passcode or a wrong region gives this same "
        "answer, so check the passcode and the region."
    )


def service_error(response: httpx.Response) -> str:
    """CleverTap's own error text from a response body (its ``error`` field, or the raw text)."""
    try:
        body: Any = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300]
    if isinstance(body, dict):
        for key in ("error", "message", "status"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    return str(body)[:300]
