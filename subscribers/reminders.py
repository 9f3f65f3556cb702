"""Deadline reminders: one message per (subscriber, call, deadline, lead time).

For a deadline ``d`` days away (local date of the subscriber), the due lead time is the smallest
configured lead ``L >= d``; its key ``reminder:<item>:<deadline>:<L>`` is unique in the outbox, so a
reminder goes once, a changed deadline gets a new key (a new reminder), a passed deadline none, and a
subscriber who joins at T-5 gets the T-3 reminder only (never a stale T-14 one).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from subscribers import queries
from subscribers.candidates import CandidateSet
from subscribers.compose import build_message, clean_header, item_view, render_pair, subscriber_links
from subscribers.i18n import format_date, t
from subscribers.matching import audience
from subscribers.mime import OutgoingMessage
from subscribers.models import Subscriber, Topic
from subscribers.preferences import preferences_of
from subscribers.report import Report
from subscribers.schedule import local_today
from watcher.db import get_engine
from watcher.models import Item
from watcher.settings import get_settings

log = logging.getLogger(__name__)


def item_deadlines(item: Item, today: date) -> list[date]:
    """Every upcoming deadline of a call (two-stage calls have several), today included."""
    found: set[date] = set()
    for value in [*(item.deadlines or []), item.deadline]:
        if value is None:
            continue
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        except ValueError:
            continue
        if day >= today:
            found.add(day)
    return sorted(found)


def due_lead(days_left: int, leads: list[int]) -> int | None:
    """The lead time whose reminder is due when the deadline is ``days_left`` days away."""
    if days_left < 0:
        return None
    eligible = [lead for lead in leads if lead >= days_left]
    return min(eligible) if eligible else None


def reminder_key(item_id: int, deadline: date, lead: int) -> str:
    return f"reminder:{item_id}:{deadline.isoformat()}:{lead}"


def render_reminder(
    subscriber: Subscriber, item: Item, *, deadline: date, lead: int, key: str, now: datetime, today: date
) -> OutgoingMessage:
    language = subscriber.language
    days = (deadline - today).days
    suffix = {0: "_zero", 1: "_one"}.get(days, "")
    title = clean_header(item.title, max_length=120)
    view = item_view(item, language, today=today)
    view["deadline"] = format_date(deadline, language)
    context: dict[str, Any] = {
        "language": language,
        "subject": t(f"reminder_subject{suffix}", language, days=days, title=title),
        "greeting": _greeting(subscriber),
        "intro": t(f"reminder_intro{suffix}", language, days=days),
        "item": view,
        "links": subscriber_links(subscriber),
    }
    text, html = render_pair("reminder", context)
    return build_message(subscriber=subscriber, message_key=key, subject=context["subject"],
                         text=text, html=html, bulk=True, now=now)


def _greeting(subscriber: Subscriber) -> str:
    if subscriber.name:
        return t("greeting", subscriber.language, name=subscriber.name)
    return t("greeting_anon", subscriber.language)


def scan_reminders(engine: Engine | None, *, now: datetime, dry_run: bool = False) -> Report:
    """Queue every reminder due at ``now`` for active subscribers; safe to run as often as wanted."""
    from subscribers.outbox import enqueue

    engine = engine or get_engine(get_settings().resolved_database_url())
    report = Report("reminders")
    with Session(engine) as session:
        subscribers = list(session.exec(
            select(Subscriber).where(Subscriber.status == "active").order_by(col(Subscriber.id))
        ))
        horizon = max((max(s.reminder_lead_days or [0]) for s in subscribers), default=0)
        today = min((local_today(s, now) for s in subscribers), default=now.date())
        calls = queries.calls_closing(session, start=today - timedelta(days=1),
                                      end=today + timedelta(days=horizon + 2)) if subscribers else []
        # multi-deadline calls whose first deadline lies beyond the horizon are not candidates: fine,
        # ``Item.deadline`` is the first upcoming one.
        due = [s for s in subscribers if s.reminder_lead_days]
        candidates = CandidateSet(calls)
        topics = queries.topics_by_subscriber(session) if due else {}
        plans = {s.id: _plan(s, candidates, topics=topics.get(s.id or 0, []), now=now) for s in due}
        sent = queries.queued_pairs(session, (pair for plan in plans.values() for pair, _ in plan))
    for subscriber in due:
        report.considered += 1
        try:
            with Session(engine, expire_on_commit=False) as session:
                _remind_one(session, subscriber, plans[subscriber.id], sent=sent, now=now, dry_run=dry_run,
                            report=report, enqueue=enqueue)
                session.commit()
        except Exception as error:  # isolate one subscriber's failure
            log.exception("reminders for subscriber %s failed", subscriber.id)
            report.failed(f"subscriber {subscriber.id}: {type(error).__name__}: {error}")
    return report


Plan = list[tuple[tuple[int, str], tuple[Item, date, int]]]


def _plan(subscriber: Subscriber, candidates: CandidateSet, *, topics: list[Topic], now: datetime) -> Plan:
    """((subscriber id, key), (call, deadline, lead)) of every reminder due for the subscriber now."""
    assert subscriber.id is not None
    prefs = preferences_of(subscriber)
    today = local_today(subscriber, now)
    plan: Plan = []
    for item in candidates.items(candidates.selected(audience(prefs, topics))):
        if item.id is None:
            continue
        for deadline in item_deadlines(item, today):
            lead = due_lead((deadline - today).days, prefs.reminder_lead_days)
            if lead is not None:
                plan.append(((subscriber.id, reminder_key(item.id, deadline, lead)), (item, deadline, lead)))
    return plan


def _remind_one(
    session: Session, subscriber: Subscriber, plan: Plan, *, sent: set[tuple[int, str]], now: datetime,
    dry_run: bool, report: Report, enqueue: Any,
) -> None:
    today = local_today(subscriber, now)
    for pair, (item, deadline, lead) in plan:
        key = pair[1]
        if pair in sent:
            report.already_sent += 1
            continue
        if dry_run:
            report.would_send += 1
            continue
        message = render_reminder(subscriber, item, deadline=deadline, lead=lead, key=key, now=now,
                                  today=today)
        if enqueue(session, subscriber_id=subscriber.id, message_key=key, kind="reminder", message=message):
            report.queued += 1
        else:
            report.already_sent += 1
