"""Calendars (iCalendar) and Atom feeds: public per ecosystem, private per subscriber, one per item.

Calendar feeds are what calendar apps poll every few hours, so they are built from one indexed
query and a streaming writer (see ``ical``). The private calendar follows the subscriber's
preferences through ``subscribers.matching`` — the same rules as their emails.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from subscribers import matching
from subscribers.compose import google_calendar_url
from subscribers.queries import followed_topics
from subscribers.tokens import TokenError, subscriber_for_token
from watcher.models import Item
from watcher.normalize.sanitize import sanitize_html
from watcher.settings import Settings
from watcher.web import queries
from watcher.web.i18n import ECOSYSTEM_SLUGS, ecosystem_name, request_language, translate
from watcher.web.public import ical
from watcher.web.public.archive import parse_filters
from watcher.web.public.cache import BodyCache
from watcher.web.public.common import ItemId, db_session, settings_of, today
from watcher.web.public.errors import PageError
from watcher.web.security import rate_limit
from watcher.web.templating import base_context, templates

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]
ICS_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
CACHE_PUBLIC = "public, max-age=900"


def not_found() -> PageError:
    return PageError(404, title_key="error.not_found", text_key="error.not_found_text")


def _ecosystem_or_404(slug: str) -> str | None:
    """``all`` means every ecosystem; an unknown slug is a 404 (not an empty feed)."""
    if slug == "all":
        return None
    if slug not in ECOSYSTEM_SLUGS:
        raise not_found()
    return slug


def _calendar_response(body: bytes, *, filename: str, private: bool = False) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "private, no-store" if private else CACHE_PUBLIC,
    }
    if private:
        headers["X-Robots-Tag"] = "noindex"
    return Response(body, media_type=ICS_TYPE, headers=headers)


def _since(settings: Settings) -> date:
    return today(settings) - timedelta(days=settings.calendar_past_days)


@router.get("/calendar/item/{item_id}.ics")
def item_calendar(item_id: ItemId, request: Request, session: SessionDep) -> Response:
    item = queries.visible_item(session, item_id)
    if item is None or not any(True for _ in ical.item_dates(item)):
        raise not_found()
    settings = settings_of(request)
    body = ical.single_event_calendar(item, base_url=settings.base_url, language=request_language(request))
    return _calendar_response(body, filename=f"item-{item_id}.ics")


@router.get("/calendar/item/{item_id}/google")
def item_google_calendar(item_id: ItemId, request: Request, session: SessionDep) -> RedirectResponse:
    """Emails link "Add to Google Calendar" here rather than to Google directly: the event is made
    when the reader clicks, so it carries the deadline as it is then (calls get extended after the
    digest went out), and each digest stays a few KiB smaller."""
    item = queries.visible_item(session, item_id)
    target = google_calendar_url(item, request_language(request)) if item is not None else None
    if target is None:
        raise not_found()
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


@router.get(
    "/calendar/s/{token}.ics",
    dependencies=[Depends(rate_limit("calendar", per_minute=60))],
)
def private_calendar(token: str, request: Request, session: SessionDep) -> Response:
    """The subscriber's own calendar: only items their preferences (and topics) select."""
    settings = settings_of(request)
    try:
        subscriber = subscriber_for_token(session, token, "calendar")
    except TokenError:
        raise not_found() from None
    if subscriber.status in ("unsubscribed", "suppressed") or subscriber.id is None:
        raise not_found()
    topics = followed_topics(session, subscriber.id)
    narrow = subscriber.own_filters and not topics  # topics may select other kinds and ecosystems
    candidates = queries.dated_items(
        session,
        since=_since(settings),
        limit=settings.calendar_max_events,
        kinds=subscriber.kinds if narrow else (),
        ecosystems=subscriber.ecosystems if narrow else (),
    )
    chosen = matching.matching_items(subscriber, candidates, topics)
    language = subscriber.language if subscriber.language in ("it", "en") else "en"
    body = ical.build_calendar(
        chosen,
        name=f"Cluster Watch — {translate(language, 'preferences.calendar')}",
        base_url=settings.base_url,
        language=language,
        since=_since(settings),
        max_events=settings.calendar_max_events,
    )
    return _calendar_response(body, filename="cluster-watch.ics", private=True)


@router.get("/calendar/{ecosystem}.ics")
def ecosystem_calendar(ecosystem: str, request: Request, session: SessionDep) -> Response:
    settings = settings_of(request)
    slug = _ecosystem_or_404(ecosystem)
    language = request_language(request)
    since = _since(settings)

    def build() -> bytes:
        items = queries.calendar_entries(
            session, ecosystem=slug, since=since, limit=settings.calendar_max_events
        )
        name = ecosystem_name(slug, language) if slug else translate(language, "feeds.all")
        return ical.build_calendar(
            items,
            name=f"Cluster Watch — {name}",
            base_url=settings.base_url,
            language=language,
            since=since,
            max_events=settings.calendar_max_events,
        )

    cache = _feed_cache(request)
    body = cache.get_or_build((ecosystem, language, since), build, max_age_s=settings.calendar_cache_s)
    return _calendar_response(body, filename=f"cluster-watch-{ecosystem}.ics")


def _feed_cache(request: Request) -> BodyCache:
    """One cache per app (tests build many apps; each starts empty)."""
    cache = getattr(request.app.state, "feed_cache", None)
    if not isinstance(cache, BodyCache):
        cache = BodyCache()
        request.app.state.feed_cache = cache
    return cache


def _rfc3339(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_entry(item: Item, *, base_url: str, host: str) -> dict[str, Any]:
    """What the Atom template needs of an item; HTML content is sanitised, then XML-escaped."""
    summary = " ".join((item.text or "").split())
    return {
        "id": f"tag:{host},2026:item/{item.id}",
        "title": " ".join(item.title.split()),
        "updated": _rfc3339(item.updated_at or item.first_seen_at),
        "published": _rfc3339(item.published_at),
        "page_url": f"{base_url}/items/{item.id}",
        "source_url": item.url if item.url.lower().startswith(("http://", "https://")) else None,
        "kind": item.kind,
        "ecosystems": item.ecosystems or [],
        "summary": summary[:1000],
        "content": sanitize_html(item.content_html or "", base_url=item.url) if item.content_html else "",
    }


@router.get("/feeds/{ecosystem}.atom")
def atom_feed(ecosystem: str, request: Request, session: SessionDep) -> Response:
    """Newest items of an ecosystem (``all`` for every one), optionally ``?kind=call|event|news``."""
    settings = settings_of(request)
    slug = _ecosystem_or_404(ecosystem)
    parsed = parse_filters(request.query_params, settings)
    filters = dataclasses.replace(parsed.filters, ecosystem=slug)
    page = queries.search(
        session,
        filters,
        page=1,
        page_size=settings.feed_max_entries,
        count_cap=0,
        today=today(settings),
        closing_soon_days=settings.digest_closing_soon_days,
    )
    root = settings.base_url.rstrip("/")
    host = root.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "clusterwatch.local"
    entries = [atom_entry(item, base_url=root, host=host) for item in page.items]
    context = base_context(request)
    language = context["lang"]
    title = ecosystem_name(slug, language) if slug else translate(language, "feeds.all")
    if filters.kind:
        title = f"{title} — {translate(language, 'kind.' + filters.kind)}"
    query = f"?kind={filters.kind}" if filters.kind else ""
    html_query = "&".join(f"{k}={v}" for k, v in (("ecosystem", slug), ("kind", filters.kind)) if v)
    context.update(
        feed_id=f"tag:{host},2026:feed/{ecosystem}/{filters.kind or 'all'}",
        title=f"Cluster Watch — {title}",
        updated=max((e["updated"] for e in entries if e["updated"]), default=_rfc3339(datetime.now(UTC))),
        self_url=f"{root}/feeds/{ecosystem}.atom{query}",
        html_url=f"{root}/" + (f"?{html_query}" if html_query else ""),
        base_url=root,
        entries=entries,
    )
    body = templates(request).get_template("feed.atom").render(context)
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": CACHE_PUBLIC})
