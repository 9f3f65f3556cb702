"""The scheduler's jobs, one function each, all taking the settings and returning a short summary.

They are plain functions so `watcher run`, a future worker process and tests call the same code.
Delivery jobs live on the ``subscribers`` side; this module only triggers them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from watcher.db import get_engine
from watcher.observability import metrics
from watcher.pipeline import due_source_ids, poll_sources_sync
from watcher.settings import Settings
from watcher.sources.config import load_sources

if TYPE_CHECKING:
    from subscribers.report import Report


def poll_due_sources(settings: Settings) -> str:
    """Poll every enabled source whose next poll time has come."""
    engine = get_engine(settings.resolved_database_url())
    due = due_source_ids(engine, load_sources(settings.sources), now=datetime.now(UTC))
    if not due:
        return ""
    report = poll_sources_sync(settings, source_ids=due, progress=metrics.record_outcome)
    return f"polled {len(due)} source(s): {report.new} new, {report.updated} updated, {report.failed} failed"


def send_due_digests(settings: Settings) -> str:
    """Queue the due digests and send them while the rest are still being built."""
    from subscribers.drain_alongside import drain_alongside

    report, drained = drain_alongside(lambda: _queue_digests(settings), settings)
    metrics.record_drain(drained)
    return "; ".join(str(part) for part in (report, drained) if part)


def queue_due_digests(settings: Settings) -> str:
    """Queue the due digests only: under `watcher worker`, the workers drain the outbox."""
    report = _queue_digests(settings)
    return str(report) if report else ""


def _queue_digests(settings: Settings) -> Report:
    from subscribers.digest import send_due_digests as queue

    return queue(get_engine(settings.resolved_database_url()), now=datetime.now(UTC))


def flush_alerts(settings: Settings) -> str:
    from subscribers.alerts import flush_alerts as flush

    report = flush(get_engine(settings.resolved_database_url()), now=datetime.now(UTC))
    return str(report) if report else ""


def scan_reminders(settings: Settings) -> str:
    from subscribers.reminders import scan_reminders as scan

    report = scan(get_engine(settings.resolved_database_url()), now=datetime.now(UTC))
    return str(report) if report else ""


def drain_outbox(settings: Settings) -> str:
    from subscribers.outbox import drain_sync

    report = drain_sync(settings)
    metrics.record_drain(report)
    return str(report) if report else ""


def admin_alerts(settings: Settings) -> str:
    """Queue emails to admins about failing sources and unknown mail (each incident once)."""
    from watcher.admin_alerts import send_admin_alerts

    return send_admin_alerts(settings)
