"""Bulk API 2.0 query jobs: ``/services/data/vXX.X/jobs/query``, results as CSV pages.

- ``POST jobs/query`` ``{"operation": "query" | "queryAll", "query": "SELECT ..."}`` creates a
  job in state ``UploadComplete``. Aggregate functions (``COUNT()``), ``GROUP BY`` and
  ``OFFSET`` are refused, as Bulk API 2.0 refuses them.
- ``GET jobs/query/{id}`` gives the job: ``UploadComplete``, then ``InProgress``, then
  ``JobComplete`` once ``processing_seconds`` (an emulator setting) have passed. The
  query runs when the job completes: its results are a snapshot of that moment.
- ``GET jobs/query/{id}/results?maxRecords=N&locator=L`` gives one page of the results
  as RFC 4180 CSV: a header row with the field names as in the SELECT (``Owner.Name``
  for a relationship field), every value quoted, a null as an empty field. Headers:
  ``Sforce-Locator`` (the next page's locator, or the string ``null`` after the last
  page) and ``Sforce-NumberOfRecords``. A locator may be read again (results are kept
  until the job is deleted or expires).
- ``PATCH jobs/query/{id}`` ``{"state": "Aborted"}`` aborts; ``DELETE`` removes the job.
- Jobs and their results are kept 7 days (:meth:`QueryJobs.expire_all` drops them, as
  a test of what happens after that).

Every one of these requests counts as an API call, as each does on Salesforce.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .data import RecordError, now_ms
from .ids import IdFactory
from .schema import FieldDef
from .soql import CompiledQuery
from .soql.query import Projection, Row, TableLookup

__all__ = [
    "DEFAULT_MAX_RECORDS",
    "KEEP_SECONDS",
    "QueryJob",
    "QueryJobs",
    "csv_page",
    "csv_value",
]

KEEP_SECONDS = 7 * 24 * 60 * 60
"""How long a job and its results are kept after it was created."""

DEFAULT_MAX_RECORDS = 100_000
"""Records in a results page when the request does not say (Salesforce: as many as fit)."""


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def csv_value(fdef: FieldDef, value: Any) -> str:
    """A stored value as Bulk API 2.0 writes it in CSV (before quoting); a null is empty."""
    if value is None:
        return ""
    if fdef.type == "datetime":
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if fdef.type == "date":
        return str(value.isoformat())
    if fdef.type == "boolean":
        return "true" if value else "false"
    if fdef.type in ("double", "currency", "percent"):
        return repr(float(value))
    return str(value)


def _columns(projection: Projection, prefix: str = "") -> list[str]:
    names: list[str] = []
    for key, item in projection.items.items():
        if isinstance(item, FieldDef):
            names.append(prefix + key)
        else:
            names.extend(_columns(item[1], f"{prefix}{key}."))
    return names


def _values(projection: Projection, row: Row | None, tables: TableLookup) -> list[str]:
    values: list[str] = []
    for key, item in projection.items.items():
        if isinstance(item, FieldDef):
            values.append(csv_value(item, row.get(key)) if row is not None else "")
        else:
            ref, sub = item
            parent_id = row.get(ref.name) if row is not None else None
            parent = tables(sub.obj.name).get(parent_id) if parent_id else None
            values.extend(_values(sub, parent, tables))
    return values


def csv_page(compiled: CompiledQuery, rows: list[Row]) -> str:
    """``rows`` as one results page: a header row, then a row per record, all quoted, LF endings."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(_columns(compiled.projection))
    for row in rows:
        writer.writerow(_values(compiled.projection, row, compiled.tables))
    return out.getvalue()


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _offset(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


@dataclass
class QueryJob:
    """One query job: its query, its state, and (once complete) the rows it found."""

    id: str
    operation: str
    object: str
    query: str
    compiled: CompiledQuery
    created_by: str
    api_version: str
    created: datetime = field(default_factory=now_ms)
    started: float = field(default_factory=time.monotonic)
    state: str = "UploadComplete"
    rows: list[Row] | None = None
    modstamp: datetime = field(default_factory=now_ms)

    def info(self) -> dict[str, Any]:
        """The job as ``GET jobs/query/{id}`` answers it."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": _iso(self.created),
            "systemModstamp": _iso(self.modstamp),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Query",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if self.rows is not None:
            body["numberRecordsProcessed"] = len(self.rows)
            body["retries"] = 0
            body["totalProcessingTime"] = 0
        return body


class QueryJobs:
    """The org's query jobs; thread-safe.

    ``run(job)`` runs a job's query (under the record store's lock) when it completes;
    ``processing_seconds`` is how long a job takes (half of it ``UploadComplete``, then
    ``InProgress``).
    """

    def __init__(
        self,
        run: Callable[[QueryJob], list[Row]],
        *,
        processing_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self.processing_seconds = processing_seconds
        self._clock = clock
        self._jobs: dict[str, QueryJob] = {}
        self._ids = IdFactory(start=1_000)
        self._lock = threading.Lock()

    def create(
        self,
        body: Any,
        compile_query: Callable[[str], CompiledQuery],
        *,
        user_id: str,
        version: str,
    ) -> QueryJob:
        """A new job from a ``POST jobs/query`` body; raises :class:`RecordError` when refused."""
        if not isinstance(body, Mapping):
            raise RecordError("The request body must be a JSON object.", "JSON_PARSER_ERROR")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise RecordError(
                f"Invalid operation {operation!r}: a query job's operation is query or queryAll.",
                "INVALIDJOB",
            )
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise RecordError("A query job needs a query.", "INVALIDJOB")
        upper = f" {' '.join(query.upper().split())} "
        for clause in (" GROUP BY ", " OFFSET "):
            if clause in upper:
                raise RecordError(
                    f"{clause.strip()} is not supported by Bulk API 2.0 query jobs.",
                    "INVALIDJOB",
                )
        compiled = compile_query(query)
        if compiled.count_only:
            raise RecordError(
                "Aggregate functions such as COUNT() are not supported by Bulk API 2.0 query jobs.",
                "INVALIDJOB",
            )
        job = QueryJob(
            id=self._ids.new("750"),
            operation=str(operation),
            object=compiled.obj.name,
            query=query,
            compiled=compiled,
            created_by=user_id,
            api_version=version,
            started=self._clock(),
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> QueryJob:
        """The job, brought up to date; raises ``NOT_FOUND`` when it is unknown or expired."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and self._clock() - job.started > KEEP_SECONDS:
                del self._jobs[job_id]
                job = None
        if job is None:
            raise RecordError("The requested resource does not exist", "NOT_FOUND", status=404)
        self._advance(job)
        return job

    def _advance(self, job: QueryJob) -> None:
        with self._lock:
            if job.state in ("JobComplete", "Aborted", "Failed"):
                return
            elapsed = self._clock() - job.started
            if elapsed < self.processing_seconds / 2:
                return
            if elapsed < self.processing_seconds:
                job.state = "InProgress"
                return
            job.rows = self._run(job)
            job.state = "JobComplete"
            job.modstamp = now_ms()

    def results(
        self, job_id: str, *, locator: str | None, max_records: int | None
    ) -> tuple[str, str, int]:
        """A page of a complete job's results: ``(csv, next locator or "null", records)``."""
        job = self.get(job_id)
        if job.state != "JobComplete" or job.rows is None:
            raise RecordError(
                f"The job is {job.state}; its results can be read once it is JobComplete.",
                "INVALIDJOBSTATE",
            )
        start = 0
        if locator:
            offset = _offset(locator)
            if offset is None or offset > len(job.rows):
                raise RecordError(f"Invalid locator {locator!r}.", "INVALIDLOCATOR")
            start = offset
        size = DEFAULT_MAX_RECORDS if max_records is None else max_records
        if size < 1:
            raise RecordError("maxRecords must be a positive number.", "INVALIDJOB")
        rows = job.rows[start : start + size]
        end = start + len(rows)
        following = _locator(end) if end < len(job.rows) else "null"
        return csv_page(job.compiled, rows), following, len(rows)

    def abort(self, job_id: str) -> QueryJob:
        """Abort a job that is not complete yet."""
        job = self.get(job_id)
        if job.state in ("JobComplete", "Failed"):
            raise RecordError(f"The job is {job.state} and cannot be aborted.", "INVALIDJOBSTATE")
        job.state = "Aborted"
        job.modstamp = now_ms()
        return job

    def delete(self, job_id: str) -> None:
        """Delete a job and its results."""
        self.get(job_id)
        with self._lock:
            self._jobs.pop(job_id, None)

    def expire_all(self) -> None:
        """Forget every job, as Salesforce does 7 days after a job was created."""
        with self._lock:
            self._jobs.clear()

    def __len__(self) -> int:
        return len(self._jobs)
