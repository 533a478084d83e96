"""The params models of the CleverTap actions (a zap's ``steps[].params``).

The models are deliberately lenient about *values*: a zap is validated before its
templates are rendered, so ``ts`` may be ``"{{trigger.CreatedDate}}"`` and
``profile`` a JSON string with templates inside. What a value must look like is
checked per record when the upload record is built, right after each record's params
are validated (the engine does that ahead of sending), and a bad value fails that
record alone, when it would have been sent, with a clear reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zaplite_clevertap.records import RecordError, event_record, profile_record

__all__ = ["EventParams", "ProfileParams", "UploadParams"]

Timestamp = str | int | float | datetime | date | None


class UploadParams(BaseModel):
    """What both actions share: who the record is about, when, and which properties are dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    def model_post_init(self, context: Any, /) -> None:
        """Build the upload record as soon as the params are validated.

        The engine validates a page's params ahead, while the page before it is being
        sent and recorded, so the record is built off the delivery's critical path.
        The params are frozen, so the record cannot go stale.
        """
        built: dict[str, Any] | RecordError
        try:
            built = self._build()
        except RecordError as error:
            built = error
        # Kept as pydantic keeps private attributes, in ``__pydantic_private__``, but set
        # directly: a declared ``PrivateAttr`` makes pydantic initialise it per instance
        # through several calls, which cost as much as building the record.
        object.__setattr__(self, "__pydantic_private__", {"_upload": built})

    def _build(self) -> dict[str, Any]:
        raise RecordError(f"unexpected params {type(self).__name__}.")

    def upload_record(self) -> dict[str, Any] | RecordError:
        """The upload record these params make, or the :class:`RecordError` saying why none."""
        private = self.__pydantic_private__
        if private is None:  # made with model_construct(), which skips model_post_init()
            self.model_post_init(None)
            private = self.__pydantic_private__
        return private["_upload"]  # type: ignore[index]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see pydantic's ``model_copy``), its record built again if ``update`` changed it."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.model_post_init(None)
        return copy


class ProfileParams(UploadParams):
    """Params of ``upload_profile``: the profile properties, as an object or a JSON string."""

    profile: dict[str, Any] | str = Field(
        default_factory=dict,
        description='Profile properties as an object or JSON text, e.g. {"Name": "Jack"}.',
    )

    def _build(self) -> dict[str, Any]:
        return profile_record(self)


class EventParams(UploadParams):
    """Params of ``upload_event``: the event's name and properties (an object or a JSON string)."""

    event_name: str = Field(description="The event's name, e.g. Deal Closed.")
    event_properties: dict[str, Any] | str = Field(
        default_factory=dict,
        description='Event properties as an object or JSON text, e.g. {"Amount": 300}.',
    )

    def _build(self) -> dict[str, Any]:
        return event_record(self)
