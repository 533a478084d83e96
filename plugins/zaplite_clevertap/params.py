"""The params models of the CleverTap actions (a zap's ``steps[].params``).

The models are deliberately lenient about *values*: a zap is validated before its
templates are rendered, so ``ts`` may be ``"{{trigger.CreatedDate}}"`` and
``profile`` a JSON string with templates inside. What a value must look like is
checked per record when the upload record is built, and a bad value fails that
record alone with a clear reason.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["EventParams", "ProfileParams", "UploadParams"]

Timestamp = str | int | float | datetime | date | None


class UploadParams(BaseModel):
    """What both actions share: who the record is about, when, and which properties are dates."""

    model_config = ConfigDict(extra="forbid")

    identity: str | int | None = Field(
        None, description="The user's identity (email, Salesforce Id, ...); or give object_id."
    )
    object_id: str | None = Field(
        None, description="CleverTap's objectId of the user; or give identity."
    )
    ts: Timestamp = Field(
        None,
        description=(
            "When it happened: Salesforce or ISO date-time, ISO date, or epoch seconds/ms; "
            "empty means now."
        ),
    )
    date_fields: list[str] = Field(
        default_factory=list,
        description="Property names sent as dates ($D_); ISO date strings are found alone.",
    )

    @field_validator("date_fields", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


class ProfileParams(UploadParams):
    """Params of ``upload_profile``: the profile properties, as an object or a JSON string."""

    profile: dict[str, Any] | str = Field(
        default_factory=dict,
        description='Profile properties as an object or JSON text, e.g. {"Name": "Jack"}.',
    )


class EventParams(UploadParams):
    """Params of ``upload_event``: the event's name and properties (an object or a JSON string)."""

    event_name: str = Field(description="The event's name, e.g. Deal Closed.")
    event_properties: dict[str, Any] | str = Field(
        default_factory=dict,
        description='Event properties as an object or JSON text, e.g. {"Amount": 300}.',
    )
