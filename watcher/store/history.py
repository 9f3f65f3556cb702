"""Item history rows: what digests and item pages read to say "deadline extended" or "renamed".

A new item has no history row: ``item.first_seen_at`` says when it arrived and a later
``title_changed`` keeps its first title. A ``created`` row per item doubled the rows a first
round inserts (about a seventh of storing it); databases from earlier versions still hold some.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

DeadlineChange = Literal["extended", "brought_forward", "set", "removed", "unchanged"]


def _row(item_id: int, kind: str, at: datetime, old: str | None, new: str | None) -> dict[str, Any]:
    return {"item_id": item_id, "kind": kind, "at": at, "old_value": old, "new_value": new}


def history_events(
    *, item_id: int, changes: dict[str, tuple[Any, Any]], at: datetime
) -> list[dict[str, Any]]:
    """``item_event`` rows for a stored item's ``changes``: ``deadline_changed``, ``title_changed``.

    Plain column values, inserted with one Core statement: a validated model per row cost more
    than the insert.
    """
    found: list[dict[str, Any]] = []
    if "deadline" in changes:
        old, current = changes["deadline"]
        found.append(_row(item_id, "deadline_changed", at, _iso(old), _iso(current)))
    if "title" in changes:
        old, current = changes["title"]
        found.append(_row(item_id, "title_changed", at, old, current))
    return found


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def deadline_change(old_value: str | None, new_value: str | None) -> DeadlineChange:
    """How a ``deadline_changed`` event reads in a digest (values are ISO dates, as stored)."""
    if old_value == new_value:
        return "unchanged"
    if not old_value:
        return "set"
    if not new_value:
        return "removed"
    return "extended" if date.fromisoformat(new_value) > date.fromisoformat(old_value) else "brought_forward"
