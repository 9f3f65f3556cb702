"""The row an item should become, and the difference between that and what is stored.

Kept apart from the SQL so the rules (which deadline is "the" deadline, corrections win, which
changes are worth telling subscribers about) read in one place and test without a database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from watcher.classify.document import Classification
from watcher.models import Correction, Item
from watcher.normalize import NormalizedItem
from watcher.settings import get_settings

# Changes subscribers care about: they bump updated_at and produce an ItemUpdated event. Other
# fields (published date, scores, language, story links…) are kept current quietly.
MEANINGFUL = ("title", "text", "content_html", "deadlines", "deadline", "event_date", "kind", "ecosystems")
CORRECTABLE = ("ecosystems", "kind", "deadline", "event_date")


@dataclass(slots=True)
class Diff:
    """What applying new values to a row changed: meaningful (old, new) pairs and quiet field names."""

    meaningful: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    quiet: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.meaningful and not self.quiet


def today(now: datetime) -> date:
    """The calendar day in the service's timezone: a deadline "today" is still upcoming in Rome."""
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def pick_deadline(deadlines: list[date], *, on: date) -> date | None:
    """The first deadline on or after ``on``; when all are past, the last one."""
    if not deadlines:
        return None
    upcoming = [day for day in deadlines if day >= on]
    return upcoming[0] if upcoming else deadlines[-1]


def as_utc(value: datetime) -> datetime:
    """Aware UTC (the timestamp columns refuse naive datetimes; a naive one is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_safe(value: Any) -> Any:
    """Adapters' ``extra`` may hold dates or tuples; store what JSON round-trips identically."""
    if not value:  # most feeds' items: no round trip for nothing
        return {}
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _merged(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _text_or_none(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def row_values(item: NormalizedItem, result: Classification, *, now: datetime) -> dict[str, Any]:
    """Column values for ``item`` as classified, before corrections."""
    days = sorted(set(result.deadlines or item.deadlines) | ({result.deadline} if result.deadline else set()))
    extra = _json_safe(item.extra)
    return {
        "source_id": item.source_id,
        "guid": item.guid,
        "identifier": item.identifier,
        "url": item.url,
        "title": item.title,
        "text": item.text,
        "content_html": item.content_html,
        "language": result.language or item.language,
        "region": _text_or_none(extra.get("region"), 100),
        "country": _text_or_none(extra.get("country"), 8),
        "published_at": as_utc(item.published) if item.published else None,
        "fingerprint": item.fingerprint,
        "story_key": item.story_key,
        "kind": result.kind,
        "ecosystems": list(result.ecosystems),
        "scores": dict(result.scores),
        "why": {slug: list(terms) for slug, terms in result.why.items()},
        "deadline": pick_deadline(days, on=today(now)),
        "deadlines": [day.isoformat() for day in days],
        "event_date": result.event_date or item.event_date,
        "programmes": _merged(item.programmes, result.programmes),
        "tags": list(result.tags),
        "extra": extra,
    }


def apply_corrections(values: dict[str, Any], *, row: Item | None, correction: Correction | None) -> None:
    """An admin's correction wins over the classifier, on every re-poll."""
    if correction is not None:
        for name in CORRECTABLE:
            corrected = getattr(correction, name)
            if corrected is not None:
                values[name] = list(corrected) if name == "ecosystems" else corrected
    elif row is not None and row.corrected:
        for name in CORRECTABLE:
            values[name] = getattr(row, name)


def apply_values(row: Item, values: dict[str, Any]) -> Diff:
    """Write only the fields that differ (an identical round writes nothing) and say what changed."""
    diff = Diff()
    for name, new in values.items():
        old = getattr(row, name)
        if old == new:
            continue
        setattr(row, name, new)
        if name in MEANINGFUL:
            diff.meaningful[name] = (old, new)
        else:
            diff.quiet.append(name)
    if "deadline" in diff.meaningful and "deadlines" not in diff.meaningful:
        # Same dates, time moved on: the next stage's deadline is now "the" deadline. No news.
        diff.meaningful.pop("deadline")
        diff.quiet.append("deadline")
    return diff
