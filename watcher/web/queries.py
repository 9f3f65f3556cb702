"""Item search for the archive, the JSON API and the feeds: one filter model, one query builder.

Kept cheap at 100k+ items on both SQLite and PostgreSQL:
- list pages order by ``published_at DESC, id DESC`` (index ``ix_item_published``), so a page reads
  ``LIMIT`` rows from the index and stops; deep pages are capped (``web_max_page``);
- counts stop at ``web_count_cap`` (``SELECT count(*) FROM (… LIMIT cap+1)``), so "more than 200
  items" reads at most the rows needed to find cap+1 matches;
- list-valued JSON columns (ecosystems, programmes) are matched as text against their JSON
  encoding (``LIKE '%"digital"%'``): the same SQL on both databases, exact element matching
  because the quotes are part of the pattern;
- free text is a case-insensitive substring match on the title (LIKE on SQLite, ILIKE on
  PostgreSQL); no full-text index, which is acceptable for titles (see bench/web.py figures).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Boolean, ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlmodel import Session, col

from watcher.db import json_dumps
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
    encoded = json_dumps(value)  # the JSON columns' own encoding (ASCII values: also earlier versions')
    return cast(column, String).like(f"%{_like_escape(encoded)}%", escape="\\")


def _date_in(column: Any, status: str, *, today: date, soon: date) -> ColumnElement[bool]:
    if status == "closed":
        return column < today
    if status == "closing":
        return and_(column >= today, column <= soon)
    return column >= today


def _status_clause(status: str, *, today: date, closing_soon_days: int) -> ColumnElement[bool]:
    """The SQL twin of ``status_of``: the deadline decides; an event without one, its date."""
    soon = today + timedelta(days=closing_soon_days)
    by_deadline = _date_in(col(Item.deadline), status, today=today, soon=soon)
    by_event_date = and_(
        col(Item.deadline).is_(None),
        col(Item.kind) == "event",
        _date_in(col(Item.event_date), status, today=today, soon=soon),
    )
    return or_(by_deadline, by_event_date)


class _NotMirror(ColumnElement[bool]):
    """``item.story_id IS NULL``, compiled per database (see ``visible``)."""

    type = Boolean()
    inherit_cache = True


@compiles(_NotMirror)
def _not_mirror(element: _NotMirror, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(Item.__table__.c.story_id, **kw)} IS NULL"  # type: ignore[attr-defined]


@compiles(_NotMirror, "sqlite")
def _not_mirror_sqlite(element: _NotMirror, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(Item.__table__.c.story_id, **kw)} IS NULL"  # type: ignore[attr-defined]


def visible() -> list[ColumnElement[bool]]:
    """Not hidden and not a mirror of another item's story.

    "Not a mirror" is ``story_id IS NULL``, but on SQLite written ``+story_id IS NULL``: the unary
    plus stops SQLite (which has no statistics unless ANALYZE ran) from choosing ix_item_story_id
    for it, reading every row — nearly all are NULL — and sorting them: 400 ms instead of 2 ms at
    100k items. PostgreSQL keeps the plain form, whose selectivity it knows from null_frac (a
    ``coalesce(...) = 0`` there is estimated at 0.5% and makes it pick sort-everything plans).
    """
    return [col(Item.hidden).is_(False), _NotMirror()]


def where_clauses(
    filters: ItemFilters, *, today: date, closing_soon_days: int
) -> list[ColumnElement[bool]]:
    """The WHERE conditions for ``filters`` (hidden items and story mirrors never listed)."""
    clauses: list[ColumnElement[bool]] = visible()
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
    offset = (page - 1) * page_size
    if len(rows) <= page_size and (rows or page == 1):
        # The last page: the total is known without counting (saves a second full scan when a
        # rare search term matches a handful of items).
        total, capped = min(offset + len(rows), count_cap), offset + len(rows) > count_cap
    elif filters.q and rows:
        # Free text has no index: counting matches means scanning the table again (~100 ms at
        # 100k items), so a text search with more pages says "more than <what you have seen>".
        total, capped = offset + page_size, True
    else:
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
    """Other visible items of the same story (the primary and its mirrors), excluding ``item``.

    Separate indexed lookups rather than one OR, which both databases answer with a full scan.
    """
    primary_id = item.story_id or item.id
    conditions = [col(Item.story_id) == primary_id]
    if item.story_id:
        conditions.append(col(Item.id) == item.story_id)
    if item.story_key:
        conditions.append(col(Item.story_key) == item.story_key)
    found: dict[int, Item] = {}
    for condition in conditions:
        # No ORDER BY: with one, planners walk the published_at index instead (story_id is
        # almost always NULL, so statistics make its index look useless). Few rows; sort here.
        statement = select(Item).where(condition, col(Item.id) != item.id, col(Item.hidden).is_(False))
        for other in session.execute(statement.limit(limit)).scalars():
            if other.id is not None:
                found[other.id] = other
    oldest = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(found.values(), key=lambda other: _aware(other.published_at) or oldest, reverse=True)
    return ordered[:limit]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def history(session: Session, item_id: int, *, limit: int = 20) -> list[ItemEvent]:
    """Notable changes of an item (deadline extended, title changed), newest first."""
    statement = (
        select(ItemEvent)
        .where(col(ItemEvent.item_id) == item_id, col(ItemEvent.kind) != "created")  # older versions' rows
        .order_by(col(ItemEvent.at).desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


_facet_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def facet_values(session: Session, column: Any, *, max_age_s: float, limit: int = 200) -> list[str]:
    """Distinct values of a plain column (sources, languages) for the filter menus.

    A DISTINCT over an unindexed column reads the whole table (~250 ms at 100k items), so the
    answer is kept for ``max_age_s``: a new source appearing in the menu a few minutes late is fine.
    """
    bind = session.get_bind()
    key = (str(getattr(bind, "url", id(bind))), str(column))
    cached = _facet_cache.get(key)
    now = time.monotonic()
    if cached and now - cached[0] < max_age_s:
        return cached[1]
    statement = select(column).where(column.is_not(None)).distinct().order_by(column).limit(limit)
    values = [str(value) for value in session.execute(statement).scalars() if value]
    _facet_cache[key] = (now, values)
    return values


@dataclass(frozen=True)
class CalendarEntry:
    """The columns a calendar needs of an item (loading whole rows costs ~5x more at 10k events)."""

    id: int
    title: str
    text: str
    url: str
    kind: str
    deadline: date | None
    deadlines: list[str]
    event_date: date | None
    updated_at: datetime | None
    first_seen_at: datetime | None = None


def _dated_statement(selected: Any, *, ecosystem: str | None, since: date, limit: int) -> Any:
    """Visible items with a deadline or event date on/after ``since``, newest items first.

    Measured at 100k items on SQLite: reading newest-first by primary key until ``limit`` matches
    (a sequential scan) beats two index range scans on deadline and event_date merged (random
    row reads), 0.2 s vs 0.5 s for 10,000 events. PostgreSQL may combine both indexes (BitmapOr).
    """
    clauses = [*visible(), or_(col(Item.deadline) >= since, col(Item.event_date) >= since)]
    if ecosystem:
        clauses.append(json_list_contains(Item.ecosystems, ecosystem))
    return select(*selected).where(*clauses).order_by(col(Item.id).desc()).limit(limit)


def calendar_entries(
    session: Session, *, ecosystem: str | None, since: date, limit: int, text_chars: int = 300
) -> list[CalendarEntry]:
    """The calendar columns of dated items (see ``_dated_statement``)."""
    columns = (
        col(Item.id), col(Item.title), func.substr(col(Item.text), 1, text_chars), col(Item.url),
        col(Item.kind), col(Item.deadline), col(Item.deadlines), col(Item.event_date), col(Item.updated_at),
    )
    statement = _dated_statement(columns, ecosystem=ecosystem, since=since, limit=limit)
    return [CalendarEntry(*row) for row in session.execute(statement)]


def dated_items(
    session: Session,
    *,
    since: date,
    limit: int,
    kinds: Sequence[str] = (),
    ecosystems: Sequence[str] = (),
) -> list[Item]:
    """Whole dated items for the private calendar, which matches them with ``subscribers.matching``.

    ``kinds``/``ecosystems`` narrow the candidates in SQL first (a superset of what matching keeps:
    any kind listed, any ecosystem in common); empty means no narrowing.
    """
    statement = _dated_statement((Item,), ecosystem=None, since=since, limit=limit)
    if kinds:
        statement = statement.where(col(Item.kind).in_(list(kinds)))
    if ecosystems:
        statement = statement.where(or_(*(json_list_contains(Item.ecosystems, e) for e in ecosystems)))
    return list(session.execute(statement).scalars())
