"""Reading stored items for the CLI (`watcher items list`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from watcher.db import get_engine
from watcher.models import Item
from watcher.settings import get_settings
from watcher.web.queries import ItemFilters, where_clauses

__all__ = ["ItemFilters", "item_as_dict", "list_items"]


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
    """Items matching ``filters`` (the archive's own conditions), newest first seen first."""
    clauses = where_clauses(filters, today=today, closing_soon_days=get_settings().digest_closing_soon_days)
    statement = (
        select(Item)
        .where(*clauses)
        .order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    with Session(get_engine()) as session:
        return [item_as_dict(row) for row in session.exec(statement).all()]
