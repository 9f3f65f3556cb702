"""The digest job: every due subscriber's digest built, rendered and queued, in batches.

One run shares its candidates (``DigestRun``), asks the outbox once which digests are already
queued, and commits ``digest_batch_size`` digests per transaction; a failing batch is retried one
subscriber at a time, so one broken row still cannot stop everyone's digest. A period already
queued is never queued again (the outbox's unique key decides, the pre-check only saves work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from subscribers import queries
from subscribers.digest import build_digest, render_digest, since_of
from subscribers.digest_run import DigestRun
from subscribers.mime import OutgoingMessage
from subscribers.models import Subscriber
from subscribers.report import Report
from subscribers.schedule import DIGEST_FREQUENCIES, Period, as_utc, due_period, local_today
from watcher.db import get_engine, in_chunks
from watcher.settings import get_settings

log = logging.getLogger("subscribers.digest")


def run_digest_job(
    engine: Engine | None, *, now: datetime, force_all: bool = False, dry_run: bool = False
) -> Report:
    """Queue the digest of every subscriber whose period is due; one subscriber's failure is isolated.

    ``engine`` None means the configured database.
    """
    engine = engine or get_engine(get_settings().resolved_database_url())
    now = as_utc(now)
    report = Report("digest")
    with Session(engine, expire_on_commit=False) as session:
        subscribers = list(session.exec(_digest_readers().order_by(col(Subscriber.id))))
        due = _due(subscribers, now=now, force=force_all, report=report)
        settings = get_settings()
        big = len(due) >= settings.digest_process_min_subscribers
        if big and not dry_run and settings.digest_processes > 1:
            from subscribers.digest_pool import queue_in_pool

            queue_in_pool([s.id or 0 for s, _ in due], now=now, force_all=force_all, report=report)
        elif due:
            queue_due(session, due, now=now, dry_run=dry_run, report=report)
    return report


def _digest_readers() -> SelectOfScalar[Subscriber]:
    """Active subscribers who take digests (whoever else is due for nothing here)."""
    return select(Subscriber).where(
        Subscriber.status == "active", col(Subscriber.frequency).in_(DIGEST_FREQUENCIES)
    )


def queue_due(
    session: Session, due: list[tuple[Subscriber, Period]], *, now: datetime, dry_run: bool, report: Report
) -> None:
    """Build, render and queue the digests of ``due``, committing one batch at a time."""
    queued = queries.queued_pairs(session, ((s.id or 0, p.key) for s, p in due))
    run = DigestRun(
        session, now=now, since=min(since_of(s, p) for s, p in due),
        days={local_today(s, now) for s, _ in due}, topics=queries.topics_by_subscriber(session),
    )
    size = max(1, get_settings().digest_batch_size)
    for some in in_chunks(due, size):
        batch = [_Built(s, p) for s, p in some]
        for built in batch:
            _build_one(session, built, run=run, queued=queued, dry_run=dry_run, report=report)
        if not dry_run:
            _write_batch(session, batch, now=now, report=report)


def due_subscribers(
    session: Session, ids: list[int], *, now: datetime, force_all: bool, report: Report
) -> list[tuple[Subscriber, Period]]:
    """``ids``' subscribers (still active digest readers) whose period is due, in id order."""
    subscribers: list[Subscriber] = []
    for chunk in in_chunks(ids):
        subscribers += session.exec(_digest_readers().where(col(Subscriber.id).in_(chunk))).all()
    subscribers.sort(key=lambda subscriber: subscriber.id or 0)
    return _due(subscribers, now=now, force=force_all, report=report)


@dataclass
class _Built:
    subscriber: Subscriber
    period: Period
    message: OutgoingMessage | None = None
    outcome: str = "empty"  # empty | queued (a message to enqueue) | already_sent | failed


def _due(
    subscribers: list[Subscriber], *, now: datetime, force: bool, report: Report
) -> list[tuple[Subscriber, Period]]:
    due: list[tuple[Subscriber, Period]] = []
    for subscriber in subscribers:
        report.considered += 1
        try:
            period = due_period(subscriber, now, force=force)
        except Exception as error:  # a broken timezone or schedule must not stop the others
            _failed(report, subscriber, error)
            continue
        if period is None:
            report.not_due += 1
        else:
            due.append((subscriber, period))
    return due


def _failed(report: Report, subscriber: Subscriber, error: Exception) -> None:
    log.error("digest for subscriber %s failed", subscriber.id, exc_info=error)
    report.failed(f"subscriber {subscriber.id}: {type(error).__name__}: {error}")


def _build_one(
    session: Session, built: _Built, *, run: DigestRun, queued: set[tuple[int, str]], dry_run: bool,
    report: Report,
) -> None:
    subscriber, period = built.subscriber, built.period
    if (subscriber.id, period.key) in queued:
        built.outcome = "already_sent"
        return
    try:
        digest = build_digest(session, subscriber, now=run.now, period=period, run=run)
        if digest is not None and not dry_run:
            built.message = render_digest(digest, subscriber)
    except Exception as error:  # one broken row must not stop everyone's digest
        built.outcome = "failed"
        _failed(report, subscriber, error)
        return
    if digest is None:
        report.empty += 1
    elif dry_run:
        report.would_send += 1
    else:
        built.outcome = "queued"


def _write_batch(session: Session, batch: list[_Built], *, now: datetime, report: Report) -> None:
    """Enqueue and record a batch in one transaction; on failure, redo it one subscriber at a time."""
    counts = Report("digest")
    try:
        _write(session, batch, now=now, report=counts)
        session.commit()
    except Exception:
        session.rollback()
        for built in batch:
            try:
                _write(session, [built], now=now, report=report)
                session.commit()
            except Exception as error:
                session.rollback()
                _failed(report, built.subscriber, error)
        return
    report.queued += counts.queued
    report.already_sent += counts.already_sent


def _write(session: Session, batch: list[_Built], *, now: datetime, report: Report) -> None:
    """Queue the built messages in one statement, then note each subscriber's period as done."""
    from subscribers.outbox import ToQueue, enqueue_many, recipient_key

    queued = enqueue_many(session, [
        ToQueue(built.subscriber.id, built.period.key, "digest", built.message)
        for built in batch if built.outcome == "queued" and built.message is not None
    ])
    for built in batch:
        subscriber = built.subscriber
        if built.outcome == "failed":
            continue
        if built.outcome == "queued":
            assert built.message is not None
            if (recipient_key(subscriber.id, built.message.recipient), built.period.key) in queued:
                report.queued += 1
                subscriber.last_digest_at = as_utc(now)
            else:
                report.already_sent += 1
        elif built.outcome == "already_sent":
            report.already_sent += 1
        subscriber.last_digest_key = built.period.key
        session.add(subscriber)
