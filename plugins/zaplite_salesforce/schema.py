"""Checking a zap's field names against the object's ``describe``.

A wrong field or object name is a :class:`~zaplite.errors.ParamsRejected` naming
both, raised before any query runs. Names come back in Salesforce's own spelling
(``email`` → ``Email``) so that they match the keys of the records returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zaplite.errors import ParamsRejected, PermanentError
from zaplite_salesforce.connection import SalesforceClient

__all__ = ["ResolvedField", "describe_object", "resolve_field"]

_MAX_DEPTH = 5


@dataclass(frozen=True)
class ResolvedField:
    """A field path in Salesforce's spelling, with the type and filterability of its last part."""

    name: str
    type: str | None
    filterable: bool


async def describe_object(client: SalesforceClient, object_name: str) -> dict[str, Any]:
    """The object's describe; an unknown object is a configuration error naming it."""
    try:
        return await client.describe(object_name)
    except PermanentError as error:
        if isinstance(error, ParamsRejected) or error.code in ("NOT_FOUND", "INVALID_TYPE"):
            raise ParamsRejected(
                f"Salesforce has no object named {object_name!r} (or this user cannot see it).",
                code=error.code,
            ) from None
        raise


async def resolve_field(client: SalesforceClient, object_name: str, path: str) -> ResolvedField:
    """Resolve a field name or dotted relationship path on ``object_name``."""
    parts = path.split(".")
    if len(parts) > _MAX_DEPTH + 1:
        raise ParamsRejected(f"The field {path!r} goes through too many relationships.")
    current = object_name
    spelled: list[str] = []
    for index, part in enumerate(parts):
        describe = await describe_object(client, current)
        fields = describe.get("fields") or []
        last = index == len(parts) - 1
        if last:
            field = _find(fields, "name", part)
            if field is None:
                raise ParamsRejected(
                    f"Salesforce object {current!r} has no field {part!r}"
                    + (f" (in {path!r})." if len(parts) > 1 else ".")
                )
            spelled.append(str(field["name"]))
            return ResolvedField(
                name=".".join(spelled),
                type=field.get("type"),
                filterable=bool(field.get("filterable", True)),
            )
        field = _find(fields, "relationshipName", part)
        if field is None:
            raise ParamsRejected(
                f"Salesforce object {current!r} has no relationship {part!r} (in {path!r})."
            )
        spelled.append(str(field["relationshipName"]))
        targets = field.get("referenceTo") or []
        if len(targets) != 1:
            # A polymorphic relationship (Owner → User or Group): Salesforce checks the rest.
            spelled.extend(parts[index + 1 :])
            return ResolvedField(name=".".join(spelled), type=None, filterable=True)
        current = str(targets[0])
    raise AssertionError("unreachable")  # pragma: no cover


def _find(fields: list[dict[str, Any]], key: str, name: str) -> dict[str, Any] | None:
    wanted = name.lower()
    for field in fields:
        value = field.get(key)
        if isinstance(value, str) and value.lower() == wanted:
            return field
    return None
