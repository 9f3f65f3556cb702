"""Item search for the archive, the JSON API and the feeds: one filter model, one query builder.

Kept cheap at 100k+ items on both SQLite and PostgreSQL:
- list pages order by ``published_at DESC, id DESC`` (index ``ix_item_listing``), so a page reads
  ``LIMIT`` rows from the index and stops; deep pages are capped (``web_max_page``);
- counts stop at ``web_count_cap`` (``SELECT count(*) FROM (… LIMIT cap+1)``), so "more than 1000
  items" costs at most cap+1 index rows;
- list-valued JSON columns (ecosystems, programmes) are matched as text against their JSON
  encoding (``LIKE '%"digital"%'``): the same SQL on both databases, exact element matching
  because the quotes are part of the pattern;
- free text is a case-insensitive substring match on the title (LIKE on SQLite, ILIKE on
  PostgreSQL); no full-text index, which is acceptable for titles (see bench/web.py figures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlmodel import Session, col

from watcher.models import Item, ItemEvent

Status = Literal["open", "closing", "closed"]
STATUSES: tuple[str, ...] = ("open", "closing", "closed")
KINDS: tuple[str, ...] = ("call", "event", "news")


@dataclass(frozen=True)
class ItemFilters:
    """What the archive, the API and the feeds can filter on; empty means "any"."""

    ecosystem: str | None = None
    kind: str | None = None
    programme: str | None = None
    status: str | None = None
    language: str | None = None
    source: str | None = None
    q: str | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

    def as_query(self) -> dict[str, str]:
        """The non-empty filters, for building links (pager, feeds, language switch)."""
        return {name: value for name in self.__dataclass_fields__ if (value := getattr(self, name))}


@dataclass
class Page:
    """One page of results and what the pager needs."""

    items: list[Item]
    page: int
    page_size: int
    total: int
    total_capped: bool
    has_next: bool
    filters: ItemFilters = field(default_factory=ItemFilters)


def status_of(item: Item, *, today: date, closing_soon_days: int) -> str | None:
    """open / closing / closed from the deadline (events without one: from their date); None if unknown."""
    when = item.deadline or (item.event_date if item.kind == "event" else None)
    if when is None:
        return None
    if when < today:
        return "closed"
    if when <= today + timedelta(days=closing_soon_days):
        return "closing"
    return "open"


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_list_contains(column: Any, value: str) -> ColumnElement[bool]:
    """``value`` is an element of the JSON list in ``column`` (text match on its JSON encoding)."""
    encoded = json.dumps(value)  # the same encoding SQLAlchemy's JSON type wrote
    return cast(column, String).like(f"%{_like_escape(encoded)}%", escape="\\")


def _status_clause(status: str, *, today: date, closing_soon_days: int) -> ColumnElement[bool]:
    deadline = col(Item.deadline)
    soon = today + timedelta(days=closing_soon_days)
    if status == "closed":
        return deadline < today
    if status == "closing":
        return and_(deadline >= today, deadline <= soon)
    return deadline >= today


def where_clauses(
    filters: ItemFilters, *, today: date, closing_soon_days: int
) -> list[ColumnElement[bool]]:
    """The WHERE conditions for ``filters`` (hidden items and story mirrors never listed)."""
    clauses: list[ColumnElement[bool]] = [col(Item.hidden).is_(False), col(Item.story_id).is_(None)]
    if filters.ecosystem:
        clauses.append(json_list_contains(Item.ecosystems, filters.ecosystem))
    if filters.programme:
        clauses.append(json_list_contains(Item.programmes, filters.programme))
    if filters.kind:
        clauses.append(col(Item.kind) == filters.kind)
    if filters.language:
        clauses.append(col(Item.language) == filters.language)
    if filters.source:
        clauses.append(col(Item.source_id) == filters.source)
    if filters.status:
        clauses.append(_status_clause(filters.status, today=today, closing_soon_days=closing_soon_days))
    if filters.q:
        pattern = f"%{_like_escape(filters.q.strip())}%"
        clauses.append(
            or_(
                col(Item.title).ilike(pattern, escape="\\"),
                col(Item.identifier).ilike(pattern, escape="\\"),
            )
        )
    return clauses


LISTING_ORDER = (col(Item.published_at).desc(), col(Item.id).desc())


def search(
    session: Session,
    filters: ItemFilters,
    *,
    page: int = 1,
    page_size: int,
    count_cap: int,
    today: date,
    closing_soon_days: int,
) -> Page:
    """One page of visible items matching ``filters``, newest first, with a capped count."""
    page = max(1, page)
    clauses = where_clauses(filters, today=today, closing_soon_days=closing_soon_days)
    statement = (
        select(Item)
        .where(*clauses)
        .order_by(*LISTING_ORDER)
        .limit(page_size + 1)
        .offset((page - 1) * page_size)
    )
    rows = list(session.execute(statement).scalars())
    total, capped = count(session, clauses, cap=count_cap)
    return Page(
        items=rows[:page_size],
        page=page,
        page_size=page_size,
        total=total,
        total_capped=capped,
        has_next=len(rows) > page_size,
        filters=filters,
    )


def count(session: Session, clauses: list[ColumnElement[bool]], *, cap: int) -> tuple[int, bool]:
    """How many rows match, counting at most ``cap`` + 1; returns (count, whether it was capped)."""
    inner = select(col(Item.id)).where(*clauses).limit(cap + 1).subquery()
    found = int(session.execute(select(func.count()).select_from(inner)).scalar_one())
    return min(found, cap), found > cap


def visible_item(session: Session, item_id: int) -> Item | None:
    """The item if it exists and is not hidden."""
    item = session.get(Item, item_id)
    return item if item is not None and not item.hidden else None


def mirrors(session: Session, item: Item, *, limit: int = 20) -> list[Item]:
    """Other visible items of the same story (the primary and its mirrors), excluding ``item``."""
    primary_id = item.story_id or item.id
    condition = or_(col(Item.id) == primary_id, col(Item.story_id) == primary_id)
    if item.story_key:
        condition = or_(condition, col(Item.story_key) == item.story_key)
    statement = (
        select(Item)
        .where(condition, col(Item.id) != item.id, col(Item.hidden).is_(False))
        .order_by(col(Item.published_at).desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def history(session: Session, item_id: int, *, limit: int = 20) -> list[ItemEvent]:
    """Notable changes of an item (deadline extended, title changed), newest first."""
    statement = (
        select(ItemEvent)
        .where(col(ItemEvent.item_id) == item_id, col(ItemEvent.kind) != "created")
        .order_by(col(ItemEvent.at).desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def facet_values(session: Session, column: Any, *, limit: int = 200) -> list[str]:
    """Distinct non-empty values of a plain column (sources, languages) for the filter menus."""
    statement = select(column).where(column.is_not(None)).distinct().order_by(column).limit(limit)
    return [str(value) for value in session.execute(statement).scalars() if value]


def dated_items(
    session: Session,
    *,
    ecosystem: str | None,
    since: date,
    limit: int,
    ids: list[int] | None = None,
) -> list[Item]:
    """Visible items with a deadline or event date on/after ``since`` (for calendars), soonest first."""
    clauses: list[ColumnElement[bool]] = [
        col(Item.hidden).is_(False),
        col(Item.story_id).is_(None),
        or_(col(Item.deadline) >= since, col(Item.event_date) >= since),
    ]
    if ecosystem:
        clauses.append(json_list_contains(Item.ecosystems, ecosystem))
    if ids is not None:
        clauses.append(col(Item.id).in_(ids))
    statement = select(Item).where(*clauses).order_by(col(Item.id).desc()).limit(limit)
    return list(session.execute(statement).scalars())
