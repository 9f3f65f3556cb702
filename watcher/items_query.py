"""Reading stored items for the CLI (`watcher items list`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from watcher.db import get_engine
from watcher.models import Item

CLOSING_SOON_DAYS = 14


@dataclass(slots=True)
class ItemFilters:
    kind: str | None = None
    ecosystem: str | None = None
    source: str | None = None
    status: str | None = None
    query: str | None = None


def item_as_dict(item: Item) -> dict[str, Any]:
    """The public JSON shape of an item (CLI and exports)."""
    return {
        "id": item.id,
        "source_id": item.source_id,
        "guid": item.guid,
        "identifier": item.identifier,
        "url": item.url,
        "title": item.title,
        "kind": item.kind,
        "ecosystems": item.ecosystems,
        "scores": item.scores,
        "deadline": item.deadline,
        "deadlines": item.deadlines,
        "event_date": item.event_date,
        "language": item.language,
        "programmes": item.programmes,
        "tags": item.tags,
        "published_at": item.published_at,
        "first_seen_at": item.first_seen_at,
        "updated_at": item.updated_at,
        "story_id": item.story_id,
        "text": item.text[:500],
    }


def list_items(filters: ItemFilters, *, limit: int, today: date) -> list[dict[str, Any]]:
    statement = select(Item).where(col(Item.hidden).is_(False))
    if filters.kind:
        statement = statement.where(Item.kind == filters.kind)
    if filters.source:
        statement = statement.where(Item.source_id == filters.source)
    if filters.query:
        statement = statement.where(col(Item.title).ilike(f"%{filters.query}%"))
    if filters.status == "closed":
        statement = statement.where(col(Item.deadline) < today)
    elif filters.status == "closing_soon":
        statement = statement.where(
            col(Item.deadline).between(today, today + timedelta(days=CLOSING_SOON_DAYS))
        )
    elif filters.status == "open":
        statement = statement.where(or_(col(Item.deadline).is_(None), col(Item.deadline) >= today))
    statement = statement.order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
    with Session(get_engine()) as session:
        rows = session.exec(statement.limit(limit * 10 if filters.ecosystem else limit)).all()
    if filters.ecosystem:  # JSON membership differs per backend; filter the page in Python
        rows = [row for row in rows if filters.ecosystem in row.ecosystems][:limit]
    return [item_as_dict(row) for row in rows]
