"""The emulated org: schema, records, OAuth, query cursors, quota and faults, behind one object.

:class:`SalesforceEmulator` is both the Python API that tests drive and the state the
HTTP app (``emulator.app``) serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .auth import SalesforceCredentials, TokenStore, default_credentials
from .bulk import QueryJob, QueryJobs
from .cursors import Cursor, CursorStore
from .data import RecordStore, Row
from .faults import Faults, RequestLog
from .ids import IdFactory
from .oauthflows import Authorizations
from .outbound import OutboundMessages
from .schema import FieldDef, ObjectDef, Schema
from .soql import CompiledQuery, SoqlError, compile_query
from .usage import ApiUsage

__all__ = ["DEFAULT_BATCH_SIZE", "SalesforceEmulator"]

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200


class SalesforceEmulator:
    """A local Salesforce org served over the REST API (``app``) and driven from Python.

    ``SalesforceEmulator()`` is an empty org with one user, the integration user the
    credentials sign in as (it owns the records created without an ``OwnerId``).
    """

    def __init__(
        self,
        credentials: SalesforceCredentials | None = None,
        *,
        api_max: int = 100_000,
        max_open_cursors: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials or default_credentials()
        self.schema = Schema()
        self.ids = IdFactory()
        self.store = RecordStore(self.schema, self.ids)
        self.org_id = self.ids.new("00D")
        self.tokens = TokenStore(self.org_id)
        self.oauth = Authorizations(lambda: self.credentials)
        """Consent, PKCE codes, the device flow, issued refresh tokens and their rotation."""
        self.faults = Faults()
        self.log = RequestLog()
        self.cursors = CursorStore(max_open=max_open_cursors)
        self.usage = ApiUsage(api_max, clock)
        """API calls of the last 24 hours against the daily allocation (see ``usage.py``)."""
        self.jobs = QueryJobs(self._run_job, clock=clock)
        """Bulk API 2.0 query jobs (see ``bulk.py``), taking their time on ``clock``."""
        self.outbound = OutboundMessages(self.org_id, self.ids)
        """Outbound messages: registered URLs the org pushes SOAP notifications to."""
        self.store.listeners.append(self.outbound.on_write)
        self._app: Any = None
        admin = self.store.insert(
            "User",
            {
                "FirstName": "Integration",
                "LastName": "User",
                "Username": self.credentials.username,
                "Email": self.credentials.username,
                "Alias": "integ",
                "Title": "API Integration",
            },
        )
        self.user_id: str = admin["Id"]

    # ------------------------------------------------------------------ the ASGI app

    @property
    def app(self) -> Any:
        """The ASGI app serving the REST API, OAuth and the ``/__admin/`` API."""
        if self._app is None:
            from .app import build_app

            self._app = build_app(self)
        return self._app

    # ------------------------------------------------------------------ records

    def create(
        self, object_name: str, values: Mapping[str, Any], *, timestamp: datetime | None = None
    ) -> dict[str, Any]:
        """Insert one record (``timestamp`` back-dates it, as a late commit); returns a copy of it."""
        return self._full(object_name, self.store.insert(object_name, values, timestamp=timestamp))

    def create_many(
        self,
        object_name: str,
        records: Iterable[Mapping[str, Any]],
        timestamp: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Insert several records sharing one timestamp, as a bulk insert does; returns copies."""
        rows = self.store.insert_many(object_name, records, timestamp=timestamp)
        return [self._full(object_name, row) for row in rows]

    def update(
        self,
        object_name: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        timestamp: datetime | None = None,
    ) -> dict[str, Any]:
        """Change fields of a record, bumping LastModifiedDate and SystemModstamp; returns a copy."""
        return self._full(
            object_name, self.store.update(object_name, record_id, values, timestamp=timestamp)
        )

    def delete(
        self, object_name: str, record_id: str, *, timestamp: datetime | None = None
    ) -> dict[str, Any]:
        """Delete a record (it stays visible to ``queryAll`` with ``IsDeleted`` true)."""
        return self._full(
            object_name, self.store.delete(object_name, record_id, timestamp=timestamp)
        )

    def undelete(
        self, object_name: str, record_id: str, *, timestamp: datetime | None = None
    ) -> dict[str, Any]:
        """Restore a deleted record from the recycle bin; returns a copy."""
        return self._full(
            object_name, self.store.undelete(object_name, record_id, timestamp=timestamp)
        )

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """A copy of one record (Python values: datetimes are aware UTC), or ``None``."""
        row = self.store.get(object_name, record_id)
        return self._full(object_name, row) if row is not None else None

    def records(self, object_name: str) -> list[dict[str, Any]]:
        """Copies of every record of ``object_name`` (deleted ones included), in insertion order."""
        return [self._full(object_name, row) for row in self.store.rows(object_name)]

    def _full(self, object_name: str, row: Row) -> dict[str, Any]:
        """A copy of a stored row with every field of its object (unset ones as ``None``)."""
        fields = self.schema.require(object_name).fields
        return {name: row.get(name) for name in fields}

    def define_object(
        self, name: str, fields: Mapping[str, str], *, label: str | None = None
    ) -> ObjectDef:
        """Define a custom object (``Invoice__c``) with ``fields`` (name → describe type)."""
        with self.store.lock:
            return self.schema.define_object(name, dict(fields), label=label)

    def add_field(
        self, object_name: str, field_name: str, field_type: str, *, label: str | None = None
    ) -> FieldDef:
        """Add a custom field (``Lead_Status__c``) to any object; type ``reference:Obj`` for a lookup."""
        with self.store.lock:
            return self.schema.add_field(object_name, field_name, field_type, label=label)

    # ------------------------------------------------------------------ faults and quota

    @property
    def latency(self) -> float:
        """Seconds added before every (non-admin) response."""
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.faults.latency = max(0.0, float(seconds))

    def expire_tokens(self) -> None:
        """Revoke every access token: the next API call answers 401 ``INVALID_SESSION_ID``."""
        self.tokens.expire_all()

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        body: Any = None,
        path_contains: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` requests (only those whose path contains ``path_contains``) with ``status``.

        ``body`` is any JSON value (default: a ``SERVER_UNAVAILABLE`` error list); ``headers``
        are added to those responses, e.g. ``{"Retry-After": "1"}``.
        """
        self.faults.fail_next(
            n, status=status, body=body, path_contains=path_contains, headers=headers
        )

    def drop_next(self, n: int = 1, path_contains: str | None = None) -> None:
        """Close the connection without any response for the next ``n`` (matching) requests."""
        self.faults.drop_next(n, path_contains=path_contains)

    def exhaust_quota(self) -> None:
        """Spend the daily API quota: every API call answers 403 ``REQUEST_LIMIT_EXCEEDED``."""
        self.faults.quota_exhausted = True

    def set_quota(self, max: int = 100_000, used: int | None = None) -> None:
        """Set the daily API request limit (and optionally the calls made in the last 24 hours)."""
        self.usage.set(max, used)
        self.faults.quota_exhausted = False

    @property
    def api_max(self) -> int:
        """The daily API request allocation."""
        return self.usage.max

    @property
    def api_used(self) -> int:
        """API requests made in the last 24 hours (a rolling window, as Salesforce counts)."""
        return self.usage.used

    def expire_query_locators(self) -> None:
        """Invalidate every open query cursor: next pages answer 400 ``INVALID_QUERY_LOCATOR``."""
        self.cursors.clear()

    def reset_faults(self) -> None:
        """Disarm every fault (failures, drops, latency, exhausted quota)."""
        self.faults.reset()

    def use_api(self) -> bool:
        """Count one API request against the quota; ``False`` when the quota is spent."""
        if self.faults.quota_exhausted:
            return False
        return self.usage.take()

    @property
    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        used = self.api_max if self.faults.quota_exhausted else self.api_used
        return f"api-usage={used}/{self.api_max}"

    @property
    def request_count(self) -> int:
        """How many requests (admin ones aside) the emulator has received."""
        return self.log.count

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """The requests received (admin ones aside, the last 100,000): ``(method, path, query)``."""
        return list(self.log.entries)

    # ------------------------------------------------------------------ queries

    def compile(self, soql: str) -> CompiledQuery:
        """Parse and check ``soql`` against the schema; raises :class:`SoqlError`."""
        with self.store.lock:
            return compile_query(
                soql, self.schema, lambda name: self.store.table(self.schema.require(name))
            )

    def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        version: str = "64.0",
    ) -> dict[str, Any]:
        """Run ``soql`` as ``GET /query`` (``/queryAll`` when ``include_deleted``) does: the first page."""
        compiled = self.compile(soql)
        with self.store.lock:
            if compiled.index_field is not None:
                index = self.store.index(compiled.obj, compiled.index_field)
                start = index.start(compiled.lower_bound) if compiled.lower_bound is not None else 0
                table = self.store.table(compiled.obj)
                rows = compiled.run_indexed(
                    index.keys, start, table, include_deleted=include_deleted
                )
            else:
                rows = compiled.run(
                    self.store.rows(compiled.obj.name), include_deleted=include_deleted
                )
            if compiled.count_only:
                return {"totalSize": len(rows), "done": True, "records": []}
            cursor = Cursor(compiled, rows)
            return self._page(cursor, None, 0, batch_size, version, include_deleted)

    def _run_job(self, job: QueryJob) -> list[Row]:
        """Every row a Bulk API 2.0 query job finds, as of now."""
        with self.store.lock:
            return job.compiled.run(
                self.store.rows(job.compiled.obj.name),
                include_deleted=job.operation == "queryAll",
            )

    @property
    def bulk_processing_seconds(self) -> float:
        """How long a Bulk API 2.0 query job takes before it is ``JobComplete``."""
        return self.jobs.processing_seconds

    @bulk_processing_seconds.setter
    def bulk_processing_seconds(self, seconds: float) -> None:
        self.jobs.processing_seconds = max(0.0, float(seconds))

    def expire_bulk_jobs(self) -> None:
        """Forget every Bulk API 2.0 query job, as Salesforce does 7 days after it was created."""
        self.jobs.expire_all()

    def query_more(
        self,
        locator: str,
        offset: int,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        version: str = "64.0",
        include_deleted: bool = False,
    ) -> dict[str, Any]:
        """The page of an open cursor starting at ``offset``; raises :class:`SoqlError` when it is gone."""
        cursor = self.cursors.get(locator)
        if cursor is None or offset > len(cursor.rows):
            raise SoqlError("invalid query locator", "INVALID_QUERY_LOCATOR")
        with self.store.lock:
            return self._page(cursor, locator, offset, batch_size, version, include_deleted)

    def _page(
        self,
        cursor: Cursor,
        locator: str | None,
        offset: int,
        batch_size: int,
        version: str,
        include_deleted: bool,
    ) -> dict[str, Any]:
        batch = min(max(batch_size, MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)
        rows: list[Row] = cursor.rows[offset : offset + batch]
        end = offset + len(rows)
        done = end >= len(cursor.rows)
        result: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            locator = locator or self.cursors.open(cursor)
            kind = "queryAll" if include_deleted else "query"
            result["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{end}"
        result["records"] = [cursor.compiled.project(row, version) for row in rows]
        return result

    # ------------------------------------------------------------------ demo data

    def seed_demo_data(self, *, seed: int = 7) -> dict[str, int]:
        """Add realistic data: sales reps, accounts, contacts, leads and opportunities (in the past)."""
        from .seed import seed_demo_data

        return seed_demo_data(self, seed=seed)
