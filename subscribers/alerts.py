"""Instant alerts: new matching calls for ``frequency == "instant"`` subscribers, batched.

Calls that arrive within ``settings.alert_window_s`` of the first pending one go out as one message
once that window has passed (the scheduler flushes every minute or so). ``AlertLog`` (unique per
subscriber and item) guarantees an item is alerted once; the outbox key
``alert:<first item id>-<window start>`` guarantees a batch is queued once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from subscribers import queries
from subscribers.candidates import CandidateSet
from subscribers.compose import build_message, clean_header, item_view, render_pair, subscriber_links
from subscribers.i18n import count_new, in_ecosystem, t
from subscribers.matching import audience
from subscribers.mime import OutgoingMessage
from subscribers.models import AlertLog, Subscriber, Topic
from subscribers.preferences import ecosystem_name, preferences_of
from subscribers.report import Report
from subscribers.schedule import as_utc, local_today
from watcher.db import get_engine, in_chunks
from watcher.models import Item, utcnow
from watcher.settings import get_settings

log = logging.getLogger(__name__)


def alert_key(items: Sequence[Item]) -> str:
    first = items[0]
    start = as_utc(first.first_seen_at).replace(microsecond=0).isoformat()
    return f"alert:{first.id}-{start}"


def alert_subject(items: Sequence[Item], language: str) -> str:
    if len(items) == 1:
        return f"{count_new('call', 1, language)}: {clean_header(items[0].title, max_length=150)}"
    subject = count_new("call", len(items), language)
    shared = set.intersection(*(set(i.ecosystems or []) for i in items))
    if len(shared) == 1:
        subject += " " + in_ecosystem(ecosystem_name(shared.pop(), language), language)
    return subject


def render_alert(
    subscriber: Subscriber, items: Sequence[Item], *, key: str, now: datetime
) -> OutgoingMessage:
    language = subscriber.language
    today = local_today(subscriber, now)
    name = subscriber.name
    context: dict[str, Any] = {
        "language": language,
        "subject": alert_subject(items, language),
        "greeting": t("greeting", language, name=name) if name else t("greeting_anon", language),
        "items": [item_view(i, language, today=today) for i in items],
        "links": subscriber_links(subscriber),
    }
    text, html = render_pair("alert", context)
    return build_message(
        subscriber=subscriber,
        message_key=key,
        subject=context["subject"],
        text=text,
        html=html,
        bulk=True,
        now=now,
    )


def flush_alerts(
    engine: Engine | None, *, now: datetime, window_s: float | None = None, dry_run: bool = False
) -> Report:
    """Queue one alert per instant subscriber whose oldest pending call has waited a full window.

    ``window_s=0`` (``watcher alerts send --now``) flushes everything pending immediately.
    """
    from subscribers.outbox import enqueue

    engine = engine or get_engine(get_settings().resolved_database_url())
    settings = get_settings()
    window = timedelta(seconds=settings.alert_window_s if window_s is None else window_s)
    now = as_utc(now)
    oldest_allowed = now - timedelta(seconds=settings.alert_max_age_s)
    report = Report("alerts")
    with Session(engine) as session:
        subscribers = list(
            session.exec(
                select(Subscriber)
                .where(Subscriber.status == "active", Subscriber.frequency == "instant")
                .order_by(col(Subscriber.id))
            )
        )
        calls = queries.new_items(
            session, since=oldest_allowed, until=now, kinds=["call"], open_on=now.date()
        )
        candidates = CandidateSet(calls)
        topics = queries.topics_by_subscriber(session)
        alerted = _alerted(session, [c.id for c in calls if c.id is not None])
    for subscriber in subscribers:
        report.considered += 1
        try:
            with Session(engine, expire_on_commit=False) as session:
                pending = _pending(subscriber, candidates, topics=topics.get(subscriber.id or 0, []),
                                   alerted=alerted, oldest_allowed=oldest_allowed)
                if not pending:
                    continue
                if as_utc(pending[0].first_seen_at) > now - window:
                    report.not_due += 1
                    continue
                if dry_run:
                    report.would_send += 1
                    continue
                key = alert_key(pending)
                message = render_alert(subscriber, pending, key=key, now=now)
                queued = enqueue(
                    session, subscriber_id=subscriber.id, message_key=key, kind="alert", message=message
                )
                report.queued += int(queued)
                report.already_sent += int(not queued)
                _log_alerts(session, subscriber_id=subscriber.id, items=pending, key=key)
                session.commit()
        except Exception as error:  # isolate one subscriber's failure
            log.exception("alerts for subscriber %s failed", subscriber.id)
            report.failed(f"subscriber {subscriber.id}: {type(error).__name__}: {error}")
    return report


def _alerted(session: Session, item_ids: list[int], *, chunk: int = 500) -> set[tuple[int, int]]:
    """(subscriber, item) pairs already alerted among the candidate calls, in a query per ``chunk``."""
    found: set[tuple[int, int]] = set()
    for some in in_chunks(item_ids, chunk):
        statement = select(AlertLog.subscriber_id, AlertLog.item_id).where(col(AlertLog.item_id).in_(some))
        found.update(session.exec(statement))
    return found


def _pending(
    subscriber: Subscriber, candidates: CandidateSet, *, topics: list[Topic],
    alerted: set[tuple[int, int]], oldest_allowed: datetime,
) -> list[Item]:
    """Matching calls first seen after the subscriber joined, not alerted yet, oldest first."""
    assert subscriber.id is not None
    joined = as_utc(subscriber.confirmed_at or subscriber.created_at)
    start = max(joined, oldest_allowed)
    chosen = candidates.selected(audience(preferences_of(subscriber), topics))
    return [
        item
        for item in candidates.items(chosen)
        if as_utc(item.first_seen_at) > start and (subscriber.id, item.id) not in alerted
    ]


def _log_alerts(session: Session, *, subscriber_id: int | None, items: Sequence[Item], key: str) -> None:
    """Record alerted items; a concurrent flusher's rows are tolerated (ON CONFLICT DO NOTHING)."""
    if subscriber_id is None or not items:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {"subscriber_id": subscriber_id, "item_id": item.id, "message_key": key, "at": utcnow()}
        for item in items
    ]
    session.execute(insert(AlertLog).values(rows).on_conflict_do_nothing())
