"""The ``[connections.NAME]`` settings of a Salesforce connection."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["REQUIRED_KEYS", "SalesforceSettings"]

REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "refresh_token": ("client_id", "refresh_token"),
    "jwt": ("client_id", "username", "private_key_file"),
    "client_credentials": ("client_id", "client_secret"),
    "password": ("client_id", "client_secret", "username", "password"),
}
"""The keys each ``auth`` grant needs besides ``login_url``."""


class SalesforceSettings(BaseModel):
    """A Salesforce connection: where to sign in, how, and how to query."""

    model_config = ConfigDict(extra="forbid")

    login_url: str = "https://login.salesforce.com"
    auth: Literal["refresh_token", "jwt", "client_credentials", "password"] = "refresh_token"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    private_key_file: Path | None = None
    api_version: str = Field(default="64.0", pattern=r"^\d{2,3}\.\d$")
    timeout: float = Field(default=30.0, gt=0, le=600)
    page_size: int = Field(default=2000, ge=200, le=2000)
    composite: bool = True
    bulk_threshold: int = Field(default=10_000, ge=0)
    """A first poll with a backlog above this many records reads it with Bulk API 2.0 (0: never)."""
    api_budget: float = Field(default=0.5, gt=0, le=1)
    """The share of the org's daily API allowance zaplite may use; polling slows to stay inside."""
    """Send the polls that fall due together as one Composite call (one API call for five)."""

    @field_validator("login_url")
    @classmethod
    def _check_login_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("login_url must start with https:// (or http:// for a local emulator)")
        return value

    @model_validator(mode="after")
    def _check_auth_keys(self) -> SalesforceSettings:
        for key in REQUIRED_KEYS[self.auth]:
            value = getattr(self, key)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value is None or value == "":
                raise ValueError(f"auth = {self.auth!r} needs {key!r}, which is missing")
        return self
