"""The scheduler behind `watcher run`: polls due sources and drives delivery on fixed ticks.

Polling is due-driven rather than one APScheduler job per source: each source's next poll time
(interval + jitter, or back-off after failures) lives in its health row, so restarts, admin
"poll now" and failing sources all follow the same rule. Only one scheduler runs per database,
enforced by :class:`watcher.locking.DatabaseLock`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from watcher import jobs
from watcher.settings import Settings

log = logging.getLogger(__name__)


def _safe(name: str, job: Callable[[Settings], object]) -> Callable[[Settings], None]:
    """Wrap ``job`` so a failure is logged and the next tick still runs."""

    def run(settings: Settings) -> None:
        try:
            result = job(settings)
            if result:
                log.info("%s: %s", name, result)
        except Exception:
            log.exception("scheduled job %s failed", name)

    run.__name__ = name
    run.__wrapped__ = job  # type: ignore[attr-defined]  # which job a schedule entry runs (for tests)
    return run


def build_scheduler(settings: Settings, *, worker_mode: bool = False) -> BackgroundScheduler:
    """A scheduler with the polling and delivery jobs registered (not started).

    ``worker_mode``: polling and the outbox drain are left out, because `watcher worker` processes
    share those through leases; the holder of the scheduler lock only runs the periodic jobs (and
    its digest job only queues).
    """
    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    now = datetime.now(UTC)
    start_poll = now if settings.poll_on_start else now + timedelta(seconds=settings.scheduler_tick_s)
    schedule: list[tuple[str, Callable[[Settings], object], float, datetime]] = [
        ("poll_due_sources", jobs.poll_due_sources, settings.scheduler_tick_s, start_poll),
        ("flush_alerts", jobs.flush_alerts, settings.alerts_flush_s, now + timedelta(seconds=20)),
        ("send_due_digests", jobs.send_due_digests, settings.digest_check_s, now + timedelta(seconds=40)),
        ("scan_reminders", jobs.scan_reminders, settings.reminders_scan_s, now + timedelta(seconds=60)),
        ("drain_outbox", jobs.drain_outbox, settings.outbox_drain_s, now + timedelta(seconds=10)),
        ("admin_alerts", jobs.admin_alerts, settings.admin_alerts_s, now + timedelta(seconds=30)),
    ]
    if worker_mode:
        schedule = [entry for entry in schedule if entry[0] not in {"poll_due_sources", "drain_outbox"}]
        schedule = [
            (name, jobs.queue_due_digests if name == "send_due_digests" else job, every_s, first)
            for name, job, every_s, first in schedule
        ]
    for name, job, every_s, first in schedule:
        scheduler.add_job(
            _safe(name, job),
            "interval",
            seconds=every_s,
            args=[settings],
            id=name,
            name=name,
            next_run_time=first,
        )
    return scheduler
