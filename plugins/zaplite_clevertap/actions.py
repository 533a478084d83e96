"""The CleverTap actions: ``upload_profile``, ``upload_event`` and ``delete_profile``.

``upload_profile`` and ``upload_event`` are single, batched and previewed;
``delete_profile`` is in :mod:`~zaplite_clevertap.deletion`.

Both actions share one code path: params → upload records (refusing locally what
CleverTap would refuse) → :func:`~zaplite_clevertap.upload.upload` → one outcome per
params. The single ``perform`` is that path with one record; it returns the output
dict, or raises :class:`~zaplite.errors.PermanentError` with the record's reason.
"""

from __future__ import annotations

from typing import Any

from zaplite import ActionContext, App, Failure, Success
from zaplite.errors import PermanentError
from zaplite_clevertap.connection import CleverTapClient
from zaplite_clevertap.deletion import DeleteProfileParams, delete_profiles, deletion_requests
from zaplite_clevertap.params import EventParams, ProfileParams, UploadParams
from zaplite_clevertap.records import build_record
from zaplite_clevertap.upload import Outcome, upload

__all__ = ["delete_many", "perform_many", "preview_request", "register_actions"]

PROFILE_SAMPLE = {
    "status": "success",
    "type": "profile",
    "identity": "jack@example.com",
    "ts": 1778275200,
}
EVENT_SAMPLE = {
    "status": "success",
    "type": "event",
    "identity": "jack@example.com",
    "ts": 1778275200,
    "evtName": "Deal Closed",
}


async def perform_many(ctx: ActionContext, params: list[UploadParams]) -> list[Outcome]:
    """Upload one record per params; one outcome per params, in order."""
    built = [build_record(item, ctx.step_id) for item in params]
    records = [record for record in built if isinstance(record, dict)]
    sent = iter(await upload(_client(ctx), records)) if records else iter(())
    outcomes: list[Outcome] = []
    for record in built:
        if isinstance(record, Failure):
            # The engine logs the failed record, naming the zap and the record.
            ctx.log.debug("step %s: record refused: %s", ctx.step_id, record.message)
            outcomes.append(record)
        else:
            outcomes.append(next(sent))
    return outcomes


async def perform_one(ctx: ActionContext, params: UploadParams) -> dict[str, Any]:
    """Upload one record; its output, or ``PermanentError`` with the reason it was refused."""
    return _output(await perform_many(ctx, [params]))


def _output(outcomes: list[Outcome]) -> dict[str, Any]:
    """The output of a batch of one, or ``PermanentError`` with the reason it failed."""
    (outcome,) = outcomes
    if isinstance(outcome, Failure):
        raise PermanentError(outcome.message, code=outcome.code)
    assert isinstance(outcome, Success)
    return outcome.output


def _refused(built: list[Any]) -> list[dict[str, Any]]:
    """The entries of ``built`` that are a :class:`Failure`: each one's index and reason."""
    return [
        {"index": index, "message": item.message, "code": item.code}
        for index, item in enumerate(built)
        if isinstance(item, Failure)
    ]


def preview_request(ctx: ActionContext, params: list[UploadParams]) -> dict[str, Any]:
    """The request ``perform`` would send for ``params``, the passcode shown as ``****``.

    Records refused before sending are left out of ``json`` and listed under
    ``refused`` (with their index in ``params`` and the reason) when there are any.
    """
    client = _client(ctx)
    built = [build_record(item, ctx.step_id) for item in params]
    request: dict[str, Any] = {
        "method": "POST",
        "url": client.upload_url,
        "headers": client.headers(masked=True),
        "json": {"d": [record for record in built if isinstance(record, dict)]},
    }
    refused = _refused(built)
    if refused:
        request["refused"] = refused
    return request


async def delete_many(ctx: ActionContext, params: list[DeleteProfileParams]) -> list[Outcome]:
    """Delete one profile per params; one outcome per params, in order."""
    outcomes = await delete_profiles(_client(ctx), params)
    for outcome in outcomes:
        if isinstance(outcome, Failure):
            ctx.log.warning("step %s: profile not deleted: %s", ctx.step_id, outcome.message)
    return outcomes


def preview_deletion(ctx: ActionContext, params: list[DeleteProfileParams]) -> dict[str, Any]:
    """The delete requests ``delete_profile`` would send for ``params`` (passcode masked)."""
    client = _client(ctx)
    targets = [item.target() for item in params]
    sendable = [(index, *t) for index, t in enumerate(targets) if not isinstance(t, Failure)]
    request: dict[str, Any] = {
        "method": "POST",
        "url": client.delete_url,
        "headers": client.headers(masked=True),
        "requests": [body for _indexes, body in deletion_requests(sendable)],
    }
    refused = _refused(targets)
    if refused:
        request["refused"] = refused
    return request


def _client(ctx: ActionContext) -> CleverTapClient:
    client = ctx.connection
    if not isinstance(client, CleverTapClient):
        raise PermanentError(
            f"step {ctx.step_id!r} needs a CleverTap connection, got {type(client).__name__}."
        )
    return client


def register_actions(app: App) -> None:
    """Add ``upload_profile`` and ``upload_event`` (with batch perform and preview) to ``app``."""

    @app.action(
        "upload_profile",
        params=ProfileParams,
        label="Create/Update User Profile",
        sample_output=PROFILE_SAMPLE,
    )
    async def upload_profile(ctx: ActionContext, params: ProfileParams) -> dict[str, Any]:
        """Create or update a CleverTap user profile (identity or object_id, ts, profile)."""
        return await perform_one(ctx, params)

    @app.action(
        "upload_event",
        params=EventParams,
        label="Upload Event",
        sample_output=EVENT_SAMPLE,
    )
    async def upload_event(ctx: ActionContext, params: EventParams) -> dict[str, Any]:
        """Upload a CleverTap event (identity or object_id, ts, event_name, event_properties)."""
        return await perform_one(ctx, params)

    for action in (upload_profile, upload_event):
        action.batch(perform_many, size=1000)
        action.preview(preview_request)

    @app.action(
        "delete_profile",
        params=DeleteProfileParams,
        label="Delete User Profile",
        sample_output={"status": "success", "deleted": True, "identity": "jack@example.com"},
    )
    async def delete_profile(ctx: ActionContext, params: DeleteProfileParams) -> dict[str, Any]:
        """Delete a CleverTap user profile (by identity or object_id) and its events."""
        return _output(await delete_many(ctx, [params]))

    delete_profile.batch(delete_many, size=1000)
    delete_profile.preview(preview_deletion)
