"""The archive (browse and search with filters), item pages and the feeds directory page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlmodel import Session, col

from watcher.models import Item
from watcher.normalize.sanitize import sanitize_html
from watcher.settings import Settings
from watcher.web import queries
from watcher.web.i18n import ECOSYSTEM_SLUGS
from watcher.web.public.common import ItemId, db_session, settings_of, today
from watcher.web.public.errors import PageError
from watcher.web.templating import render

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(db_session)]
FILTER_NAMES = ("ecosystem", "kind", "programme", "status", "language", "source", "q")


@dataclass(frozen=True)
class ItemFiltersWithPage:
    """A parsed archive query string: filters plus page number."""

    filters: queries.ItemFilters
    page: int


def bad_request() -> PageError:
    return PageError(400, title_key="error.bad_request", text_key="error.bad_request_text")


def parse_filters(params: Any, settings: Settings) -> ItemFiltersWithPage:
    """Filters from a query string: empty values mean "any"; unknown or oversized values are a 400."""
    values: dict[str, str | None] = {}
    for name in FILTER_NAMES:
        raw = params.get(name)
        value = raw.strip() if isinstance(raw, str) else None
        if value and len(value) > settings.web_query_max_chars:
            raise PageError(413, title_key="error.too_large", text_key="error.too_large_text")
        values[name] = value or None
    if values["kind"] and values["kind"] not in queries.KINDS:
        raise bad_request()
    if values["status"] and values["status"] not in queries.STATUSES:
        raise bad_request()
    if values["ecosystem"] and values["ecosystem"] not in ECOSYSTEM_SLUGS:
        raise bad_request()
    page = _page_number(params.get("page"), settings)
    return ItemFiltersWithPage(queries.ItemFilters(**values), page)


def _page_number(raw: Any, settings: Settings) -> int:
    if raw in (None, ""):
        return 1
    try:
        page = int(str(raw))
    except ValueError:
        raise bad_request() from None
    if page < 1 or page > settings.web_max_page:
        raise bad_request()
    return page


def page_link(filters: queries.ItemFilters, page: int) -> str:
    params = filters.as_query()
    if page > 1:
        params["page"] = str(page)
    return "/?" + urlencode(params) if params else "/"


def countdown(item: Item, *, today_: date, closing_soon_days: int) -> dict[str, Any] | None:
    """What the item page shows next to the deadline (or event date): days left, and a style."""
    when = item.deadline or (item.event_date if item.kind == "event" else None)
    if when is None:
        return None
    days = (when - today_).days
    is_event = item.deadline is None
    if days < 0:
        return {"key": "item.closed_ago", "days": -days, "style": "closed"}
    if days == 0:
        return {"key": "item.event_today" if is_event else "item.today", "days": 0, "style": "closing"}
    key = "item.event_in" if is_event else ("item.one_day_left" if days == 1 else "item.days_left")
    style = "closing" if days <= closing_soon_days else "open"
    return {"key": key, "days": days, "style": style}


def safe_content(item: Item) -> Markup:
    """The item's HTML, sanitised again right before it reaches the page (it was sanitised when stored)."""
    return Markup(sanitize_html(item.content_html or "", base_url=item.url))


@router.get("/", response_class=HTMLResponse)
def archive(request: Request, session: SessionDep) -> HTMLResponse:
    settings = settings_of(request)
    parsed = parse_filters(request.query_params, settings)
    now = today(settings)
    result = queries.search(
        session,
        parsed.filters,
        page=parsed.page,
        page_size=settings.web_page_size,
        count_cap=settings.web_count_cap,
        today=now,
        closing_soon_days=settings.digest_closing_soon_days,
    )
    statuses = {
        item.id: queries.status_of(item, today=now, closing_soon_days=settings.digest_closing_soon_days)
        for item in result.items
    }
    return render(
        request,
        "archive.html",
        result=result,
        filters=parsed.filters,
        statuses=statuses,
        kinds=queries.KINDS,
        status_values=queries.STATUSES,
        sources=queries.facet_values(session, col(Item.source_id), max_age_s=settings.web_facet_cache_s),
        content_languages=queries.facet_values(
            session, col(Item.language), max_age_s=settings.web_facet_cache_s
        ),
        prev_link=page_link(parsed.filters, result.page - 1) if result.page > 1 else None,
        next_link=page_link(parsed.filters, result.page + 1) if result.has_next else None,
    )


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(item_id: ItemId, request: Request, session: SessionDep) -> HTMLResponse:
    settings = settings_of(request)
    item = queries.visible_item(session, item_id)
    if item is None:
        raise PageError(404, title_key="error.not_found", text_key="error.not_found_text")
    now = today(settings)
    days = settings.digest_closing_soon_days
    return render(
        request,
        "item.html",
        item=item,
        status=queries.status_of(item, today=now, closing_soon_days=days),
        countdown=countdown(item, today_=now, closing_soon_days=days),
        content=safe_content(item),
        mirrors=queries.mirrors(session, item),
        history=queries.history(session, item_id),
        has_calendar=bool(item.deadline or item.event_date or item.deadlines),
    )


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request) -> HTMLResponse:
    return render(request, "feeds.html", kinds=queries.KINDS)
