"""The ``delete_profile`` action: CleverTap's delete-profile API, batched, one outcome per record.

``POST /1/delete/profiles.json`` takes ``{"identity": [...]}`` or ``{"guid": [...]}``
(CleverTap's ids, which the upload calls ``objectId``), at most 100 a request. The
records of a batch are grouped by kind and sent 100 at a time, at most
``max_concurrency`` requests in flight (the account's semaphore, as for uploads).

CleverTap does not document a per-id answer, so a request answers for all its
records: ``success`` deletes them all; any other ``status``, or a 400 refusing the
request, fails just that request's records, with CleverTap's message. An outage or a
refused passcode is raised once every request has finished, so the engine leaves the
page unrecorded and sends it again (a delete sent twice is harmless).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from zaplite import Failure, Success
from zaplite.errors import PermanentError
from zaplite_clevertap.connection import CleverTapClient
from zaplite_clevertap.transport import post_json
from zaplite_clevertap.unprocessed import Outcome

__all__ = ["MAX_IDS_PER_REQUEST", "DeleteProfileParams", "delete_profiles", "deletion_requests"]

MAX_IDS_PER_REQUEST = 100
"""Identities (or guids) CleverTap accepts in one delete request."""

MAX_ID_CHARS = 120


class DeleteProfileParams(BaseModel):
    """Params of ``delete_profile``: whose profile to delete, by ``identity`` or ``object_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identity: str | int | None = Field(
        None, description="The identity of the profile to delete (email, Salesforce Id, ...)."
    )
    object_id: str | None = Field(
        None, description="CleverTap's objectId (guid) of the profile; or give identity."
    )

    def target(self) -> tuple[str, str] | Failure:
        """``("identity" | "guid", value)``, or the :class:`Failure` saying why there is none."""
        for kind, value in (("identity", self.identity), ("guid", self.object_id)):
            text = "" if value is None else str(value).strip()
            if not text:
                continue
            if len(text) >= MAX_ID_CHARS:
                name = "identity" if kind == "identity" else "object_id"
                return Failure(
                    f"the {name} {text[:20]!r}... is {len(text)} characters; CleverTap allows "
                    f"under {MAX_ID_CHARS}.",
                    code=526 if kind == "guid" else 523,
                )
            return kind, text
        return Failure(
            "neither identity nor object_id is set (or they rendered empty), so there is no "
            "profile to delete.",
            code=523,
        )


def deletion_requests(
    targets: list[tuple[int, str, str]],
) -> list[tuple[list[int], dict[str, Any]]]:
    """The request bodies for ``(index, kind, value)`` targets, each with the indexes it covers."""
    requests: list[tuple[list[int], dict[str, Any]]] = []
    for kind in ("identity", "guid"):
        mine = [(index, value) for index, k, value in targets if k == kind]
        for start in range(0, len(mine), MAX_IDS_PER_REQUEST):
            chunk = mine[start : start + MAX_IDS_PER_REQUEST]
            requests.append(([index for index, _ in chunk], {kind: [value for _, value in chunk]}))
    return requests


async def delete_profiles(
    client: CleverTapClient, params: list[DeleteProfileParams]
) -> list[Outcome]:
    """Delete the profile each params names; one outcome per params, in order."""
    outcomes: list[Outcome | None] = [None] * len(params)
    targets: list[tuple[int, str, str]] = []
    for index, item in enumerate(params):
        target = item.target()
        if isinstance(target, Failure):
            outcomes[index] = target
        else:
            targets.append((index, *target))
    requests = deletion_requests(targets)
    results = await asyncio.gather(
        *(post_json(client, client.delete_url, body, "profile deletion") for _, body in requests),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, PermanentError):
            raise result
    values = {index: value for index, _kind, value in targets}
    kinds = {index: kind for index, kind, _value in targets}
    for (indexes, _body), result in zip(requests, results, strict=True):
        failure = _request_failure(result)
        for index in indexes:
            if failure is not None:
                outcomes[index] = failure
                continue
            name = "identity" if kinds[index] == "identity" else "object_id"
            outcomes[index] = Success({"status": "success", "deleted": True, name: values[index]})
    return [outcome for outcome in outcomes if outcome is not None]


def _request_failure(result: Any) -> Failure | None:
    """``None`` when CleverTap said ``success``; else the failure of every record of the request."""
    if isinstance(result, PermanentError):
        return Failure(str(result), code=result.code)
    if isinstance(result, dict) and result.get("status") == "success":
        return None
    said = ""
    code: Any = None
    if isinstance(result, dict):
        said = str(result.get("error") or result.get("status") or "")
        code = result.get("code")
    return Failure(
        "CleverTap did not confirm the deletion of this request's profiles"
        + (f": {said.rstrip('.')}." if said else "."),
        code=code,
    )
