"""`watcher worker`: one process of a PostgreSQL cluster that polls, sends and (one at a time) schedules.

Each worker runs three loops on one event loop:

- **scheduler**: try to take the scheduler lock (:class:`watcher.locking.DatabaseLock`, a PostgreSQL
  session advisory lock); the holder runs the periodic jobs (digests, alerts, reminders, admin
  alerts). A standby retries every ``scheduler_lock_retry_s``; when the holder dies its connection
  closes, PostgreSQL frees the lock and a standby takes over at its next try.
- **poll**: claim due sources with leases (:mod:`watcher.leases`, ``FOR UPDATE SKIP LOCKED``), poll
  them with the ordinary :class:`watcher.pipeline.RoundRunner`, release the leases.
- **drain**: run the outbox drain (:mod:`subscribers.drain`, its own ``FOR UPDATE SKIP LOCKED`` claim
  and handed/unknown bookkeeping) in bounded batches, so every worker sends and none sends twice.

On SQLite only one worker may run (an exclusive lock on the database says so at start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from subscribers.drain import drain
from subscribers.outbox import worker_identity
from watcher.classify import Classifier
from watcher.db import get_engine, is_sqlite
from watcher.leases import claim_due_sources, extend_leases, release_leases
from watcher.locking import DatabaseLock
from watcher.observability import metrics
from watcher.pipeline import RoundRunner
from watcher.scheduler import build_scheduler
from watcher.settings import Settings
from watcher.sources.config import SourceConfig, SourcesConfigError, load_sources

log = logging.getLogger(__name__)


class WorkerRefused(RuntimeError):
    """This worker must not start (e.g. a second worker on SQLite)."""


@dataclass
class WorkerStats:
    rounds: int = 0
    sources_polled: int = 0
    drains: int = 0
    sent: int = 0
    scheduler_held: bool = False
    takeovers: int = 0
    locks_lost: int = 0
    errors: list[str] = field(default_factory=list)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until asked to stop, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


class Worker:
    """One worker process's loops; see the module docstring."""

    def __init__(
        self, settings: Settings, *, engine: Engine | None = None, worker_id: str | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine or get_engine(settings.resolved_database_url())
        self.worker_id = worker_id or worker_identity()
        self.stats = WorkerStats()
        self.stop = asyncio.Event()
        self._lock = DatabaseLock(self.engine)
        self._single = DatabaseLock(self.engine, name="watcher-worker")
        self._scheduler: BackgroundScheduler | None = None
        self._sources: list[SourceConfig] = []

    def _extra(self, event: str) -> dict[str, object]:
        return {"event": event, "worker_id": self.worker_id}

    async def run(self) -> WorkerStats:
        """Run until :attr:`stop` is set; always gives back the locks it took."""
        if is_sqlite(str(self.engine.url)) and not self._single.try_acquire():
            raise WorkerRefused("SQLite allows one worker: another `watcher worker` runs on this database")
        log.info("worker started", extra=self._extra("worker_started"))
        try:
            await asyncio.gather(self._scheduler_loop(), self._poll_loop(), self._drain_loop())
        finally:
            self._step_down()
            self._single.release()
            log.info("worker stopped", extra=self._extra("worker_stopped"))
        return self.stats

    # --- scheduler ----------------------------------------------------------------------------
    async def _scheduler_loop(self) -> None:
        while not self.stop.is_set():
            if self._scheduler is None:
                try:
                    if await asyncio.to_thread(self._lock.try_acquire):
                        self._take_over()
                except Exception as error:  # database away: stay standby, try again later
                    log.warning("scheduler lock attempt failed: %s", error, extra=self._extra("lock_error"))
            elif not await asyncio.to_thread(self._lock.is_held):
                log.warning("scheduler lock lost with its session", extra=self._extra("lock_lost"))
                self.stats.locks_lost += 1
                self._step_down()
            await _pause(self.stop, self.settings.scheduler_lock_retry_s)

    def _take_over(self) -> None:
        self._scheduler = build_scheduler(self.settings, worker_mode=True)
        self._scheduler.start()
        self.stats.scheduler_held = True
        self.stats.takeovers += 1
        log.info("scheduler lock acquired: this worker schedules", extra=self._extra("scheduler_acquired"))

    def _step_down(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
            log.info("scheduler stopped", extra=self._extra("scheduler_released"))
        try:
            self._lock.release()
        except Exception:  # its session is already gone, and the server freed the lock with it
            self._lock = DatabaseLock(self.engine)

    # --- polling ------------------------------------------------------------------------------
    def _load_sources(self) -> list[SourceConfig]:
        try:
            self._sources = load_sources(self.settings.sources)
        except (SourcesConfigError, OSError) as error:  # keep polling what we had; say why
            log.error("sources file unusable, keeping the last: %s", error, extra=self._extra("bad_sources"))
        return self._sources

    async def _poll_loop(self) -> None:
        runner: RoundRunner | None = None
        while not self.stop.is_set():
            sources = await asyncio.to_thread(self._load_sources)
            ids = await asyncio.to_thread(self._claim, sources)
            if not ids:
                await _pause(self.stop, self.settings.worker_idle_s)
                continue
            if runner is None:
                classifier = await asyncio.to_thread(Classifier.from_settings, self.settings)
                runner = RoundRunner(settings=self.settings, engine=self.engine, classifier=classifier)
            await self._poll(runner, [source for source in sources if source.id in set(ids)])

    def _claim(self, sources: Sequence[SourceConfig]) -> list[str]:
        try:
            return claim_due_sources(
                self.engine,
                worker_id=self.worker_id,
                limit=self.settings.worker_concurrency,
                lease_s=self.settings.worker_source_lease_s,
                now=datetime.now(UTC),
                sources=sources,
            )
        except Exception as error:  # database trouble: nothing claimed, try again after a pause
            log.warning("claiming sources failed: %s", error, extra=self._extra("claim_error"))
            return []

    async def _poll(self, runner: RoundRunner, sources: list[SourceConfig]) -> None:
        ids = [source.id for source in sources]
        heartbeat = asyncio.create_task(self._keep_leases(ids))
        try:
            report = await runner.run(sources, progress=metrics.record_outcome)
            self.stats.rounds += 1
            self.stats.sources_polled += len(report.outcomes)
            log.info(
                "polled %d source(s): %d new, %d updated, %d failed",
                len(ids), report.new, report.updated, report.failed,
                extra=self._extra("round_done"),
            )
        except Exception as error:
            log.exception("polling round failed", extra=self._extra("round_error"))
            self.stats.errors.append(repr(error)[:300])
        finally:
            heartbeat.cancel()
            await asyncio.to_thread(release_leases, self.engine, worker_id=self.worker_id, source_ids=ids)

    async def _keep_leases(self, ids: list[str]) -> None:
        lease_s = self.settings.worker_source_lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            await asyncio.to_thread(
                extend_leases, self.engine, worker_id=self.worker_id, source_ids=ids, lease_s=lease_s,
                now=datetime.now(UTC),
            )

    # --- outbox -------------------------------------------------------------------------------
    async def _drain_loop(self) -> None:
        batch = max(1, self.settings.mail_claim_batch) * 4
        while not self.stop.is_set():
            try:
                report = await drain(
                    settings=self.settings, engine=self.engine, worker_id=self.worker_id, limit=batch
                )
            except Exception as error:
                log.exception("outbox drain failed", extra=self._extra("drain_error"))
                self.stats.errors.append(repr(error)[:300])
                await _pause(self.stop, self.settings.mail_poll_interval_s)
                continue
            metrics.record_drain(report)
            self.stats.drains += 1
            self.stats.sent += report.sent
            if report.claimed or report.recovered_unknown:
                log.info(
                    "outbox: %d sent, %d retry, %d failed, %d unknown, %d recovered as unknown",
                    report.sent, report.retry, report.failed, report.unknown, report.recovered_unknown,
                    extra=self._extra("drain_done"),
                )
            if not report.claimed or report.stopped:
                await _pause(self.stop, self.settings.mail_poll_interval_s)


def run_worker(settings: Settings) -> WorkerStats:
    """Run one worker in this process until SIGTERM/SIGINT."""
    metrics.install_event_hooks()
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, registry=metrics.REGISTRY)

    async def main() -> WorkerStats:
        worker = Worker(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop.set)
        return await worker.run()

    return asyncio.run(main())
