"""Weekly/daily digests: what is new for one subscriber since their last digest, and sending them.

A digest groups new matching items by kind then ecosystem, lists calls closing soon by deadline,
deadline changes ("updates") and editor's notes, and gets a subject that says what is inside.
Sending is "enqueue once per period": the outbox's unique (subscriber, ``digest:<freq>:<period>``)
makes a second run of the same job queue nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from subscribers import queries
from subscribers.compose import build_message, clean_header, item_view, render_pair, subscriber_links
from subscribers.i18n import closing_phrase, count_new, format_date, in_ecosystem, t, updates_phrase
from subscribers.matching import explain
from subscribers.models import Subscriber
from subscribers.preferences import ECOSYSTEM_SLUGS, ecosystem_name, normalise_email, preferences_of
from subscribers.report import Report
from subscribers.schedule import DIGEST_FREQUENCIES, Period, as_utc, due_period, latest_period, local_today
from watcher.db import get_engine
from watcher.models import Item
from watcher.settings import get_settings

log = logging.getLogger(__name__)
KIND_ORDER = ("call", "event", "news")
OTHER = "other"


@dataclass
class Group:
    slug: str
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class KindSection:
    kind: str
    title: str
    groups: list[Group] = field(default_factory=list)
    count: int = 0
    more: int = 0


@dataclass
class Update:
    item: dict[str, Any]
    text: str


@dataclass
class Digest:
    """Everything a digest message shows, already localised."""

    subscriber_id: int
    language: str
    period: Period
    since: datetime
    now: datetime
    kinds: list[KindSection] = field(default_factory=list)
    closing_soon: list[dict[str, Any]] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    editor_notes: list[dict[str, Any]] = field(default_factory=list)
    subject: str = ""
    item_ids: list[int] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.updates or self.editor_notes)

    @property
    def message_key(self) -> str:
        return self.period.key


def _primary_ecosystem(item: Item, followed: list[str]) -> str:
    for slug in item.ecosystems or []:
        if not followed or slug in followed:
            return slug if slug in ECOSYSTEM_SLUGS else OTHER
    return OTHER


def _sort_key(item: Item) -> tuple[Any, ...]:
    if item.kind == "call":
        return (item.deadline or date.max, item.id or 0)
    if item.kind == "event":
        return (item.event_date or date.max, item.id or 0)
    published = as_utc(item.published_at or item.first_seen_at)
    return (-published.timestamp(), item.id or 0)


def _kind_sections(items: list[Item], followed: list[str], language: str, today: date) -> list[KindSection]:
    limit = get_settings().digest_max_items
    sections: list[KindSection] = []
    order = {slug: i for i, slug in enumerate((*ECOSYSTEM_SLUGS, OTHER))}
    for kind in KIND_ORDER:
        of_kind = sorted((i for i in items if i.kind == kind), key=_sort_key)
        if not of_kind:
            continue
        section = KindSection(kind, t(f"kind.{kind}", language), count=len(of_kind))
        section.more = max(0, len(of_kind) - limit)
        groups: dict[str, Group] = {}
        for item in of_kind[:limit]:
            slug = _primary_ecosystem(item, followed)
            title = t("other_ecosystems", language) if slug == OTHER else ecosystem_name(slug, language)
            groups.setdefault(slug, Group(slug, title)).items.append(item_view(item, language, today=today))
        section.groups = sorted(groups.values(), key=lambda g: order.get(g.slug, len(order)))
        sections.append(section)
    return sections


def build_digest(
    session: Session,
    subscriber: Subscriber,
    *,
    now: datetime,
    period: Period | None = None,
    allow_empty: bool | None = None,
) -> Digest | None:
    """The digest due for ``subscriber`` at ``now``; None when nothing is new.

    ``allow_empty`` (default: settings.send_empty_digest) returns an empty digest instead of None.
    """
    assert subscriber.id is not None
    now = as_utc(now)
    period = period or latest_period(subscriber, now)
    last = subscriber.last_digest_at
    since = as_utc(last) if last else period.occurrence - period.length
    language = subscriber.language
    today = local_today(subscriber, now)
    prefs = preferences_of(subscriber)
    topics = queries.followed_topics(session, subscriber.id)

    def wanted(item: Item) -> bool:
        return explain(prefs, item, topics).included

    digest = Digest(subscriber.id, language, period, since, now)
    new = [i for i in queries.new_items(session, since=since, until=now, open_on=today) if wanted(i)]
    noted = [i for i in queries.pinned_items(session, since=since, until=now) if wanted(i)]
    noted += [i for i in new if i.editor_note and i not in noted]
    noted_ids = {i.id for i in noted}
    digest.editor_notes = [item_view(i, language, today=today) for i in noted]
    digest.kinds = _kind_sections(
        [i for i in new if i.id not in noted_ids], prefs.ecosystems, language, today
    )
    horizon = today + timedelta(days=get_settings().digest_closing_soon_days)
    closing = [i for i in queries.calls_closing(session, start=today, end=horizon) if wanted(i)]
    limit = get_settings().digest_max_items
    digest.closing_soon = [item_view(i, language, today=today) for i in closing[:limit]]
    digest.updates = _updates(session, digest, wanted, exclude={i.id for i in new}, today=today)
    digest.item_ids = sorted({i.id for i in (*new, *noted, *closing) if i.id is not None})
    digest.subject = digest_subject(digest, new, closing, prefs.ecosystems, today=today)
    if allow_empty is None:
        allow_empty = get_settings().send_empty_digest
    if digest.is_empty and not allow_empty:
        return None
    return digest


def _updates(
    session: Session, digest: Digest, wanted: Any, *, exclude: set[int | None], today: date
) -> list[Update]:
    updates: list[Update] = []
    seen: set[int | None] = set()
    for event, item in reversed(queries.deadline_changes(session, since=digest.since, until=digest.now)):
        if item.id in exclude or item.id in seen or not wanted(item):
            continue
        seen.add(item.id)
        text = t("deadline_changed", digest.language, old=_date_text(event.old_value, digest.language),
                 new=_date_text(event.new_value, digest.language))
        updates.append(Update(item_view(item, digest.language, today=today), text))
    return updates


def _date_text(value: str | None, language: str) -> str:
    if not value:
        return "—"
    try:
        return format_date(date.fromisoformat(value[:10]), language)
    except ValueError:
        return value[:40]


def digest_subject(
    digest: Digest, new: list[Item], closing: list[Item], followed: list[str], *, today: date
) -> str:
    """"3 new calls in Health · 1 closes in 5 days" — counts of what is inside, localised."""
    language = digest.language
    news_parts: list[str] = []
    for kind in KIND_ORDER:
        of_kind = [i for i in new if i.kind == kind]
        if not of_kind:
            continue
        phrase = count_new(kind, len(of_kind), language)
        ecosystems = {_primary_ecosystem(i, followed) for i in of_kind}
        if len(ecosystems) == 1 and OTHER not in ecosystems:
            phrase += " " + in_ecosystem(ecosystem_name(ecosystems.pop(), language), language)
        news_parts.append(phrase)
    parts = [", ".join(news_parts)] if news_parts else []
    if closing and (parts or digest.updates or digest.editor_notes):
        days = [(i.deadline - today).days for i in closing if i.deadline]
        parts.append(closing_phrase(len(closing), min(days) if len(closing) == 1 else max(days), language))
    if digest.updates:
        parts.append(updates_phrase(len(digest.updates), language))
    if not parts:
        if digest.editor_notes:
            return t("editor_notes", language)
        return t(f"subject_nothing_{digest.period.frequency}", language)
    return " · ".join(parts)


def render_digest(digest: Digest, subscriber: Subscriber) -> EmailMessage:
    """The digest as a message (HTML + text), with list headers and its deterministic Message-ID."""
    text, html = render_pair("digest", _context(digest, subscriber))
    return build_message(
        subscriber=subscriber, message_key=digest.message_key, subject=digest.subject,
        text=text, html=html, bulk=True, now=digest.now,
    )


def _context(digest: Digest, subscriber: Subscriber) -> dict[str, Any]:
    language = subscriber.language
    name = subscriber.name
    greeting = t("greeting", language, name=name) if name else t("greeting_anon", language)
    return {
        "language": language,
        "subject": clean_header(digest.subject),
        "greeting": greeting,
        "frequency": digest.period.frequency,
        "digest": digest,
        "links": subscriber_links(subscriber),
    }


def send_due_digests(
    engine: Engine | None, *, now: datetime, force_all: bool = False, dry_run: bool = False
) -> Report:
    """Queue the digest of every subscriber whose period is due; one subscriber's failure is isolated.

    ``engine`` None means the configured database.
    """
    from subscribers.outbox import enqueue

    engine = engine or get_engine(get_settings().resolved_database_url())
    report = Report("digest")
    with Session(engine) as session:
        ids = list(session.exec(
            select(Subscriber.id).where(
                Subscriber.status == "active", col(Subscriber.frequency).in_(DIGEST_FREQUENCIES)
            ).order_by(col(Subscriber.id))
        ))
    for subscriber_id in ids:
        report.considered += 1
        try:
            with Session(engine, expire_on_commit=False) as session:
                subscriber = session.get(Subscriber, subscriber_id)
                if subscriber is None:
                    continue
                _send_one(session, subscriber, now=now, force=force_all, dry_run=dry_run,
                          report=report, enqueue=enqueue)
        except Exception as error:  # one broken row must not stop everyone's digest
            log.exception("digest for subscriber %s failed", subscriber_id)
            report.failed(f"subscriber {subscriber_id}: {type(error).__name__}: {error}")
    return report


def _send_one(
    session: Session, subscriber: Subscriber, *, now: datetime, force: bool, dry_run: bool,
    report: Report, enqueue: Any,
) -> None:
    period = due_period(subscriber, now, force=force)
    if period is None:
        report.not_due += 1
        return
    digest = build_digest(session, subscriber, now=now, period=period)
    if dry_run:
        if digest is None:
            report.empty += 1
        else:
            report.would_send += 1
        return
    if digest is None:
        report.empty += 1
    elif enqueue(session, subscriber_id=subscriber.id, message_key=period.key, kind="digest",
                 message=render_digest(digest, subscriber)):
        report.queued += 1
        subscriber.last_digest_at = as_utc(now)
    else:
        report.already_sent += 1
    subscriber.last_digest_key = period.key
    session.add(subscriber)
    session.commit()


def preview(session: Session, email: str, now: datetime) -> tuple[str, str, str]:
    """(subject, text, html) of the digest ``email`` would get now, even when empty; nothing is sent."""
    address = normalise_email(email)
    subscriber = session.exec(select(Subscriber).where(Subscriber.email == address)).first()
    if subscriber is None:
        raise LookupError(f"no subscriber with address {address}")
    period = latest_period(subscriber, now)
    digest = build_digest(session, subscriber, now=now, period=period, allow_empty=True)
    assert digest is not None
    message = render_digest(digest, subscriber)
    return _parts(message)


def _parts(message: EmailMessage) -> tuple[str, str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if isinstance(text_part, EmailMessage) else ""
    html = html_part.get_content() if isinstance(html_part, EmailMessage) else ""
    return str(message["Subject"]), text, html

