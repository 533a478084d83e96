"""What this process did, as Prometheus metrics: recorded where it happens, exposed by the web room.

The engine records into a :class:`Metrics` (one ``prometheus_client.CollectorRegistry``
per engine, so tests and several engines in one process never share counters); the
daemon's HTTP server renders that registry at ``/metrics``. Counters count what *this*
daemon did: with several daemons sharing a store, Prometheus sums them.

Histograms carry no zap label: 1,000 zaps times a dozen buckets would be 12,000
series for one metric. Per-zap detail is in the counters and gauges.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics", "parse_usage", "record_time"]

_USAGE = re.compile(r"(?P<name>[A-Za-z][\w-]*)=(?P<used>\d+)/(?P<limit>\d+)")

POLL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LAG_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 86400)


def parse_usage(usage: str | None) -> dict[str, tuple[int, int]]:
    """The ``name=used/limit`` entries of a page's usage note (``"api-usage=18/5000"``)."""
    if not usage:
        return {}
    return {
        match["name"]: (int(match["used"]), int(match["limit"])) for match in _USAGE.finditer(usage)
    }


def record_time(value: Any) -> datetime | None:
    """A record's timestamp as aware UTC, from a datetime or an ISO-8601 text; else ``None``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class Metrics:
    """The engine's Prometheus metrics, in a registry of their own (:attr:`registry`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.tasks = Counter(
            "zaplite_tasks",
            "Tasks this process recorded, by zap and outcome (success, failed, filtered).",
            ["zap", "status"],
            registry=self.registry,
        )
        self.replays = Counter(
            "zaplite_replays",
            "Tasks this process replayed, by zap and new outcome.",
            ["zap", "status"],
            registry=self.registry,
        )
        self.runs = Counter(
            "zaplite_runs",
            "Runs (polls) of each zap by this process, by outcome (ok, failed, paused, interrupted).",
            ["zap", "outcome"],
            registry=self.registry,
        )
        self.poll_duration = Histogram(
            "zaplite_poll_duration_seconds",
            "How long one run of a zap took: its poll and the delivery of what it found.",
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self.delivery_lag = Histogram(
            "zaplite_delivery_lag_seconds",
            "From a record's time at the source service (e.g. its CreatedDate) to its delivery.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.paused = Gauge(
            "zaplite_zap_paused",
            "1 while the zap is paused (seen by this process's last run of it), else 0.",
            ["zap"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "zaplite_last_success_timestamp_seconds",
            "Unix time at which this process's last successful run of the zap ended.",
            ["zap"],
            registry=self.registry,
        )
        self.interval = Gauge(
            "zaplite_zap_interval_seconds",
            "The zap's polling interval as this process schedules it (interval schedules only).",
            ["zap"],
            registry=self.registry,
        )
        self.salesforce_api = Gauge(
            "zaplite_salesforce_api_requests",
            "The Salesforce org's daily API requests, as last reported to a connection "
            "(kind=used or limit).",
            ["connection", "kind"],
            registry=self.registry,
        )

        self.received = Counter(
            "zaplite_received_records",
            "Records pushed to the zap's instant trigger (a Salesforce outbound message's "
            "notifications), by outcome: stored, repeated (received before), failed (the store "
            "could not write them); refused counts messages refused whole (wrong token, "
            "another org, malformed).",
            ["zap", "outcome"],
            registry=self.registry,
        )

        self.pace = Gauge(
            "zaplite_connection_pace",
            "How many times slower than their schedules the zaps of a connection poll, "
            "to stay inside its API budget (1: on schedule).",
            ["connection"],
            registry=self.registry,
        )

    def paced(self, connection: str, factor: float) -> None:
        """The connection's zaps now poll ``factor`` times slower than their schedules."""
        self.pace.labels(connection).set(factor)

    def run_finished(self, zap_id: str, outcome: str, seconds: float) -> None:
        """One run of the zap ended with ``outcome`` after ``seconds``."""
        if outcome == "skipped":  # another daemon's turn, or a quota wait: nothing was done
            return
        self.runs.labels(zap_id, outcome).inc()
        self.poll_duration.observe(seconds)
        self.paused.labels(zap_id).set(1 if outcome == "paused" else 0)
        if outcome == "ok":
            self.last_success.labels(zap_id).set(time.time())

    def tasks_recorded(self, zap_id: str, statuses: Iterable[str]) -> None:
        """Tasks of the zap were recorded with these statuses."""
        counts: dict[str, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        for status, count in counts.items():
            self.tasks.labels(zap_id, status).inc(count)

    def delivered(
        self, record_times: Iterable[datetime | None], now: datetime | None = None
    ) -> None:
        """Records were delivered now; each known record time adds its lag to the histogram."""
        at = now or datetime.now(UTC)
        for when in record_times:
            if when is not None:
                self.delivery_lag.observe(max(0.0, (at - when).total_seconds()))

    def replayed(self, zap_id: str, status: str) -> None:
        """A task of the zap was replayed and now has ``status``."""
        self.replays.labels(zap_id, status).inc()

    def usage_seen(self, app: str, connection: str | None, usage: str | None) -> None:
        """A page reported the service's API usage (``"api-usage=18/5000"``)."""
        if app != "salesforce" or connection is None:
            return
        entry = parse_usage(usage).get("api-usage")
        if entry is not None:
            self.salesforce_api.labels(connection, "used").set(entry[0])
            self.salesforce_api.labels(connection, "limit").set(entry[1])

    def records_received(self, zap_id: str, stored: int, repeated: int) -> None:
        """Records pushed to the zap were written (``stored``) or known already (``repeated``)."""
        for outcome, count in (("stored", stored), ("repeated", repeated)):
            if count:
                self.received.labels(zap_id, outcome).inc(count)

    def records_not_stored(self, zap_id: str, count: int) -> None:
        """``count`` records pushed to the zap could not be written: the service sends them again."""
        self.received.labels(zap_id, "failed").inc(count)

    def push_refused(self, zap_id: str) -> None:
        """A message pushed to the zap's route was refused whole (its caller or its body)."""
        self.received.labels(zap_id, "refused").inc()

    def scheduled(self, zap_id: str, interval_seconds: float | None) -> None:
        """The zap is scheduled by this process every ``interval_seconds`` (``None``: by cron)."""
        if interval_seconds is not None:
            self.interval.labels(zap_id).set(interval_seconds)
        else:
            with contextlib.suppress(KeyError):
                self.interval.remove(zap_id)

    def pause_changed(self, zap_id: str, paused: bool) -> None:
        """The zap was paused or resumed (from the console or the CLI in this process)."""
        self.paused.labels(zap_id).set(1 if paused else 0)
