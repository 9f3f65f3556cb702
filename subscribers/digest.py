"""Weekly/daily digests: what is new for one subscriber since their last digest, and sending them.

A digest groups new matching items by kind then ecosystem, lists calls closing soon by deadline,
deadline changes ("updates") and editor's notes, and gets a subject that says what is inside.
Sending is "enqueue once per period": the outbox's unique (subscriber, ``digest:<freq>:<period>``)
makes a second run of the same job queue nothing (the job itself is ``subscribers.digest_job``).
Digests show at most ``digest_group_items`` per ecosystem group and ``digest_max_items`` per section;
the rest is counted and linked to the web archive filtered the same way, so a digest stays well
under Gmail's 102 KB clipping limit however much is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.candidates import union
from subscribers.compose import (
    Fragments,
    base_url,
    build_message,
    clean_header,
    render_pair,
    subscriber_links,
)
from subscribers.digest_run import KIND_ORDER, OTHER, DigestRun, Row
from subscribers.i18n import closing_phrase, count_new, format_date, in_ecosystem, t, updates_phrase
from subscribers.mime import OutgoingMessage
from subscribers.models import Subscriber
from subscribers.preferences import ECOSYSTEM_SLUGS, ecosystem_name, normalise_email, preferences_of
from subscribers.report import Report
from subscribers.schedule import Period, as_utc, latest_period, local_today
from watcher.models import ItemEvent
from watcher.settings import get_settings


@dataclass
class Group:
    slug: str
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0
    archive_url: str = ""


@dataclass
class KindSection:
    kind: str
    title: str
    groups: list[Group] = field(default_factory=list)
    count: int = 0
    more: int = 0
    archive_url: str = ""
    also: list[Group] = field(default_factory=list)  # groups with no room left: only counted and linked

    @property
    def also_count(self) -> int:
        return sum(g.more for g in self.also)


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
    closing_more: int = 0
    updates: list[Update] = field(default_factory=list)
    editor_notes: list[dict[str, Any]] = field(default_factory=list)
    subject: str = ""
    fragments: Fragments | None = None  # the run's pre-inlined item blocks, which the views point to

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.updates or self.editor_notes)

    @property
    def message_key(self) -> str:
        return self.period.key


@dataclass(frozen=True, slots=True)
class KindCount:
    """How many new items of a kind a digest has (editor's notes included), and in which groups."""

    kind: str
    count: int
    ecosystems: frozenset[str]


def _by_group(run: DigestRun, new: int, followed: list[str]) -> dict[str, dict[str, int]]:
    """kind -> group slug -> mask of those new items, groups in display order, empty ones left out."""
    groups = run.groups(followed)
    found: dict[str, dict[str, int]] = {}
    for kind in KIND_ORDER:
        of_kind = new & run.kind_mask(kind)
        if not of_kind:
            continue
        by_slug = {slug: of_kind & groups[slug] for slug in ECOSYSTEM_SLUGS if of_kind & groups.get(slug, 0)}
        rest = of_kind & ~union(by_slug.values())
        found[kind] = {**by_slug, OTHER: rest} if rest else by_slug
    return found


def _kind_sections(
    run: DigestRun, by_group: dict[str, dict[str, int]], language: str, *, skip: int, view: Any
) -> list[KindSection]:
    """Sections by kind, groups by primary ecosystem; at most ``digest_group_items`` per group and
    ``digest_max_items`` per section are shown, the rest is a count and a link to the archive."""
    settings = get_settings()
    sections: list[KindSection] = []
    for kind, groups in by_group.items():
        count = union(groups.values()) & ~skip
        if not count:
            continue
        section = KindSection(kind, t(f"kind.{kind}", language), count=count.bit_count())
        section.archive_url = archive_url(kind=kind)
        room = settings.digest_max_items
        for slug, mask in groups.items():
            members = mask & ~skip
            if not members:
                continue
            title = t("other_ecosystems", language) if slug == OTHER else ecosystem_name(slug, language)
            shown = run.first_rows(members, max(0, min(settings.digest_group_items, room)))
            room -= len(shown)
            group = Group(slug, title, [view(r) for r in shown], more=members.bit_count() - len(shown))
            group.archive_url = archive_url(kind=kind, ecosystem=None if slug == OTHER else slug)
            (section.groups if shown else section.also).append(group)
        section.more = sum(g.more for g in (*section.groups, *section.also))
        sections.append(section)
    return sections


def archive_url(*, kind: str, ecosystem: str | None = None) -> str:
    """The web archive filtered like a digest group, where its items beyond the cap are listed."""
    params = {"kind": kind, **({"ecosystem": ecosystem} if ecosystem else {})}
    return f"{base_url()}/?{urlencode(params)}"


def since_of(subscriber: Subscriber, period: Period) -> datetime:
    """Where the subscriber's digest window starts: their last digest, else one period back."""
    last = subscriber.last_digest_at
    return as_utc(last) if last else period.occurrence - period.length


def build_digest(
    session: Session,
    subscriber: Subscriber,
    *,
    now: datetime,
    period: Period | None = None,
    allow_empty: bool | None = None,
    run: DigestRun | None = None,
) -> Digest | None:
    """The digest due for ``subscriber`` at ``now``; None when nothing is new.

    ``allow_empty`` (default: settings.send_empty_digest) returns an empty digest instead of None.
    ``run`` shares candidates between the subscribers of one job; without it (a preview) a one-off
    run is loaded for this subscriber alone.
    """
    assert subscriber.id is not None
    now = as_utc(now)
    period = period or latest_period(subscriber, now)
    since = since_of(subscriber, period)
    language = subscriber.language
    today = local_today(subscriber, now)
    run = run or DigestRun(session, now=now, since=since, days=[today])
    prefs = preferences_of(subscriber)
    chosen = run.select(subscriber, since=since, today=today, prefs=prefs)

    def view(row: Row) -> dict[str, Any]:
        return run.view(row.item, language, today)

    digest = Digest(subscriber.id, language, period, since, now, fragments=run.fragments)
    digest.editor_notes = [view(r) for r in chosen.noted]
    by_group = _by_group(run, chosen.new, prefs.ecosystems)
    digest.kinds = _kind_sections(run, by_group, language, skip=chosen.noted_mask, view=view)
    closing = chosen.closing
    limit = get_settings().digest_max_items
    digest.closing_soon = [view(r) for r in closing[:limit]]
    digest.closing_more = max(0, len(closing) - limit)
    digest.updates = _updates(digest, chosen.changes, exclude=chosen.new, view=view)
    counts = [KindCount(kind, union(groups.values()).bit_count(), frozenset(groups))
              for kind, groups in by_group.items()]
    digest.subject = digest_subject(digest, counts, closing, today=today)
    if allow_empty is None:
        allow_empty = get_settings().send_empty_digest
    if digest.is_empty and not allow_empty:
        return None
    return digest


def _updates(
    digest: Digest, changes: list[tuple[ItemEvent, Row]], *, exclude: int, view: Any
) -> list[Update]:
    """Deadline changes, latest first, of items not among the new ones (mask ``exclude``)."""
    updates: list[Update] = []
    seen: set[int] = set()
    for event, item in reversed(changes):
        if exclude >> item.bit & 1 or item.id in seen:
            continue
        seen.add(item.id)
        text = t("deadline_changed", digest.language, old=_date_text(event.old_value, digest.language),
                 new=_date_text(event.new_value, digest.language))
        updates.append(Update(view(item), text))
    return updates


def _date_text(value: str | None, language: str) -> str:
    if not value:
        return "—"
    try:
        return format_date(date.fromisoformat(value[:10]), language)
    except ValueError:
        return value[:40]


def digest_subject(digest: Digest, counts: list[KindCount], closing: list[Row], *, today: date) -> str:
    """"3 new calls in Health · 1 closes in 5 days" — counts of what is inside, localised."""
    language = digest.language
    news_parts: list[str] = []
    for of_kind in counts:
        phrase = count_new(of_kind.kind, of_kind.count, language)
        if len(of_kind.ecosystems) == 1 and OTHER not in of_kind.ecosystems:
            phrase += " " + in_ecosystem(ecosystem_name(next(iter(of_kind.ecosystems)), language), language)
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


def render_digest(digest: Digest, subscriber: Subscriber) -> OutgoingMessage:
    """The digest as a message (HTML + text), with list headers and its deterministic Message-ID."""
    text, html = render_pair("digest", _context(digest, subscriber), fragments=digest.fragments)
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
        "closing_url": f"{base_url()}/?{urlencode({'kind': 'call', 'status': 'closing'})}",
    }


def send_due_digests(
    engine: Engine | None, *, now: datetime, force_all: bool = False, dry_run: bool = False
) -> Report:
    """Queue the digest of every subscriber whose period is due (``subscribers.digest_job``)."""
    from subscribers.digest_job import run_digest_job

    return run_digest_job(engine, now=now, force_all=force_all, dry_run=dry_run)


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
    return _parts(message.as_email())


def _parts(message: EmailMessage) -> tuple[str, str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if isinstance(text_part, EmailMessage) else ""
    html = html_part.get_content() if isinstance(html_part, EmailMessage) else ""
    return str(message["Subject"]), text, html

