"""Item history rows: what digests and the admin read to say "new", "deadline extended", "renamed"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from watcher.models import ItemEvent

DeadlineChange = Literal["extended", "brought_forward", "set", "removed", "unchanged"]


def history_events(
    *, item_id: int, new: bool, title: str, changes: dict[str, tuple[Any, Any]], at: datetime
) -> list[ItemEvent]:
    """``created`` for a new item; ``deadline_changed`` / ``title_changed`` for meaningful updates."""
    if new:
        return [ItemEvent(item_id=item_id, kind="created", new_value=title, at=at)]
    found: list[ItemEvent] = []
    if "deadline" in changes:
        old, current = changes["deadline"]
        found.append(
            ItemEvent(
                item_id=item_id, kind="deadline_changed", at=at, old_value=_iso(old), new_value=_iso(current)
            )
        )
    if "title" in changes:
        old, current = changes["title"]
        found.append(
            ItemEvent(item_id=item_id, kind="title_changed", old_value=old, new_value=current, at=at)
        )
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
