"""Prometheus metrics: in-process counters the pipeline and the outbox feed, plus database gauges.

Two kinds, on purpose. Counters and histograms (polls, items, classifications, deliveries,
latencies) count what *this* process did; with several workers, scrape each worker's own port
(``worker_metrics_port``) or sum them. Gauges that describe shared state (outbox depth by state,
failing sources, items by kind) are computed from the database at scrape time by
:class:`DatabaseCollector`, so any one process reports the truth for the whole cluster.

Callers use the small ``record_*`` API; they never touch prometheus_client themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.engine import Engine

from watcher import events

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter(
    "watcher_source_polls", "Source polling rounds by outcome.", ["source", "outcome"], registry=REGISTRY
)
POLL_SECONDS = Histogram(
    "watcher_source_poll_seconds",
    "Duration of one source's round (fetch, parse, classify, store).",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
ITEMS = Counter(
    "watcher_items_stored", "Items stored, by change (new or updated).", ["change"], registry=REGISTRY
)
CLASSIFIED = Counter(
    "watcher_items_classified", "New items by classified kind.", ["kind"], registry=REGISTRY
)
ECOSYSTEMS = Counter(
    "watcher_items_ecosystem", "New items by assigned ecosystem.", ["ecosystem"], registry=REGISTRY
)
DELIVERIES = Counter(
    "watcher_outbox_deliveries", "Outbox send attempts by resulting state.", ["state"], registry=REGISTRY
)
DRAIN_SECONDS = Histogram(
    "watcher_outbox_drain_seconds",
    "Duration of one outbox drain run.",
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800),
    registry=REGISTRY,
)
DELIVERY_STATES = ("sent", "retry", "failed", "unknown")


class OutcomeLike(Protocol):
    """What :class:`watcher.pipeline.SourceOutcome` offers (kept structural: no import cycle)."""

    source_id: str
    ok: bool
    not_modified: bool
    new: int
    updated: int
    elapsed_s: float


def record_poll(source_id: str, ok: bool, seconds: float, *, not_modified: bool = False) -> None:
    outcome = "failed" if not ok else "not_modified" if not_modified else "ok"
    POLLS.labels(source=source_id, outcome=outcome).inc()
    POLL_SECONDS.observe(max(0.0, seconds))


def record_items(new: int, updated: int) -> None:
    if new:
        ITEMS.labels(change="new").inc(new)
    if updated:
        ITEMS.labels(change="updated").inc(updated)


def record_outcome(outcome: OutcomeLike) -> None:
    """A pipeline progress callback: one source's round."""
    record_poll(outcome.source_id, outcome.ok, outcome.elapsed_s, not_modified=outcome.not_modified)
    record_items(outcome.new, outcome.updated)


def record_classification(kind: str, ecosystems: Iterable[str]) -> None:
    CLASSIFIED.labels(kind=kind or "unknown").inc()
    for slug in ecosystems:
        ECOSYSTEMS.labels(ecosystem=slug).inc()


def record_delivery(state: str, count: int = 1) -> None:
    if count:
        DELIVERIES.labels(state=state).inc(count)


def record_drain(report: Any) -> None:
    """Count a :class:`subscribers.drain.DrainReport` (duck-typed: watcher never imports subscribers)."""
    for state in DELIVERY_STATES:
        record_delivery(state, int(getattr(report, state, 0) or 0))
    DRAIN_SECONDS.observe(float(getattr(report, "elapsed_s", 0.0) or 0.0))


_hooked = threading.Lock()
_unsubscribe: list[Any] = []


def _on_event(event: events.Event) -> None:
    if isinstance(event, events.ItemStored):
        record_classification(event.item.kind, event.item.ecosystems or [])


def install_event_hooks() -> None:
    """Count classifications from the store's ItemStored events (idempotent)."""
    with _hooked:
        if not _unsubscribe:
            _unsubscribe.append(events.subscribe(_on_event))


_QUERIES = {
    "outbox": "SELECT state, COUNT(*) FROM outbox GROUP BY state",
    "oldest_due": "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'retry')",
    "sources": "SELECT source_id, consecutive_failures, enabled FROM source_state",
    "items": "SELECT kind, COUNT(*) FROM item GROUP BY kind",
}


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (shared state, right in any process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("watcher_database_up", "1 if the scrape could read the database.")
        try:
            with self.engine.connect() as conn:
                rows = {name: list(conn.execute(text(sql)).all()) for name, sql in _QUERIES.items()}
        except Exception as error:  # a scrape must answer even when the database does not
            log.warning("metrics: database gauges unavailable: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _outbox_families(rows["outbox"], rows["oldest_due"])
        yield from _source_families(rows["sources"])
        items = GaugeMetricFamily("watcher_items", "Stored items by kind.", labels=["kind"])
        for kind, count in rows["items"]:
            items.add_metric([str(kind)], count)
        yield items


def _outbox_families(by_state: list[Any], oldest: list[Any]) -> Iterator[Metric]:
    depth = GaugeMetricFamily("watcher_outbox_messages", "Outbox rows by state.", labels=["state"])
    counts = {str(state): count for state, count in by_state}
    for state in ("pending", "sending", "sent", "retry", "failed", "unknown", "cancelled"):
        depth.add_metric([state], counts.get(state, 0))
    yield depth
    age = GaugeMetricFamily(
        "watcher_outbox_oldest_due_age_seconds", "Age of the oldest due message (delivery latency)."
    )
    first = oldest[0][0] if oldest else None
    age.add_metric([], _age_s(first))
    yield age


def _age_s(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - value).total_seconds())


def _source_families(rows: list[Any]) -> Iterator[Metric]:
    failures = GaugeMetricFamily(
        "watcher_source_consecutive_failures", "Failed rounds in a row per source.", labels=["source"]
    )
    failing = GaugeMetricFamily("watcher_sources_failing", "Enabled sources whose last round failed.")
    count = 0
    for source_id, consecutive, enabled in rows:
        failures.add_metric([str(source_id)], consecutive or 0)
        count += 1 if enabled and consecutive else 0
    failing.add_metric([], count)
    yield failures
    yield failing


def exposition(engine: Engine | None = None) -> bytes:
    """This process's metrics, plus the database gauges when ``engine`` is given."""
    body = generate_latest(REGISTRY)
    if engine is not None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseCollector(engine))
        body += generate_latest(registry)
    return body
