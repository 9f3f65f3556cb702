"""JSON API for items: the archive's search as data, described by pydantic models in /openapi.json."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from watcher.models import Item
from watcher.web import queries
from watcher.web.i18n import ECOSYSTEM_SLUGS
from watcher.web.public.common import ItemId, db_session, settings_of, today

router = APIRouter(prefix="/api", tags=["items"])
SessionDep = Annotated[Session, Depends(db_session)]
MAX_TEXT = 200  # matches the default settings.web_query_max_chars; the setting is enforced too

Kind = Literal["call", "event", "news"]
Status = Literal["open", "closing", "closed"]


class ItemSummary(BaseModel):
    """An item as listed: enough to show it and link to it."""

    id: int
    title: str
    kind: Kind | str
    status: Status | None = Field(None, description="From the deadline (events: their date); null if none.")
    ecosystems: list[str]
    programmes: list[str]
    language: str | None
    source_id: str
    url: str = Field(description="The item at its source.")
    page_url: str = Field(description="The item's page on this site.")
    published_at: datetime | None
    deadline: date | None
    event_date: date | None


class ItemDetail(ItemSummary):
    """An item with its text, all deadlines and the other copies of the same story."""

    identifier: str | None
    text: str = Field(description="Plain text body.")
    deadlines: list[date]
    first_seen_at: datetime
    updated_at: datetime
    region: str | None
    country: str | None
    mirrors: list[int] = Field(description="Ids of other items telling the same story.")
    editor_note: str | None


class ItemPage(BaseModel):
    """One page of search results."""

    items: list[ItemSummary]
    page: int
    page_size: int
    total: int = Field(description="Matching items, counted up to `total_capped`'s cap.")
    total_capped: bool = Field(description="True when there are more than `total` matches.")
    next_page: int | None


def _summary(item: Item, *, base_url: str, status: str | None) -> dict[str, object]:
    assert item.id is not None
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "status": status,
        "ecosystems": list(item.ecosystems or []),
        "programmes": list(item.programmes or []),
        "language": item.language,
        "source_id": item.source_id,
        "url": item.url,
        "page_url": f"{base_url}/items/{item.id}",
        "published_at": item.published_at,
        "deadline": item.deadline,
        "event_date": item.event_date,
    }


def _dates(values: list[str]) -> list[date]:
    days = []
    for value in values or []:
        try:
            days.append(date.fromisoformat(str(value)[:10]))
        except ValueError:
            continue
    return days


@router.get("/items", response_model=ItemPage, summary="Search items")
def list_items(
    request: Request,
    session: SessionDep,
    ecosystem: Annotated[str | None, Query(max_length=40, description="Ecosystem slug.")] = None,
    kind: Kind | None = None,
    status: Status | None = None,
    programme: Annotated[str | None, Query(max_length=MAX_TEXT)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=MAX_TEXT, description="Words in the title.")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> ItemPage:
    settings = settings_of(request)
    if ecosystem and ecosystem not in ECOSYSTEM_SLUGS:
        known = ", ".join(ECOSYSTEM_SLUGS)
        raise HTTPException(422, detail=f"unknown ecosystem {ecosystem!r}; known: {known}")
    if page > settings.web_max_page:
        raise HTTPException(422, detail=f"page must be at most {settings.web_max_page}")
    if q and len(q) > settings.web_query_max_chars:
        raise HTTPException(422, detail=f"q must be at most {settings.web_query_max_chars} characters")
    filters = queries.ItemFilters(
        ecosystem=ecosystem, kind=kind, status=status, programme=programme or None,
        language=language or None, source=source or None, q=(q or "").strip() or None,
    )
    now = today(settings)
    days = settings.digest_closing_soon_days
    result = queries.search(
        session, filters, page=page, page_size=settings.web_page_size,
        count_cap=settings.web_count_cap, today=now, closing_soon_days=days,
    )
    root = settings.base_url.rstrip("/")
    summaries = [
        ItemSummary.model_validate(
            _summary(item, base_url=root, status=queries.status_of(item, today=now, closing_soon_days=days))
        )
        for item in result.items
    ]
    return ItemPage(
        items=summaries,
        page=result.page,
        page_size=result.page_size,
        total=result.total,
        total_capped=result.total_capped,
        next_page=result.page + 1 if result.has_next else None,
    )


@router.get("/items/{item_id}", response_model=ItemDetail, summary="One item",
            responses={404: {"description": "No such item (or hidden)"}})
def get_item(item_id: ItemId, request: Request, session: SessionDep) -> ItemDetail:
    settings = settings_of(request)
    item = queries.visible_item(session, item_id)
    if item is None:
        raise HTTPException(404, detail="item not found")
    now = today(settings)
    status = queries.status_of(item, today=now, closing_soon_days=settings.digest_closing_soon_days)
    data = _summary(item, base_url=settings.base_url.rstrip("/"), status=status)
    data.update(
        identifier=item.identifier,
        text=item.text,
        deadlines=_dates(item.deadlines),
        first_seen_at=item.first_seen_at,
        updated_at=item.updated_at,
        region=item.region,
        country=item.country,
        mirrors=[other.id for other in queries.mirrors(session, item) if other.id is not None],
        editor_note=item.editor_note,
    )
    return ItemDetail.model_validate(data)
