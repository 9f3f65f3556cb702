"""The value adapters hand to the pipeline: what a source said about one item, nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class ItemDraft:
    """Raw item from an adapter, before normalisation and classification.

    ``html`` is the source's markup (unsafe until sanitised); ``text`` is plain text when the
    source gave only that. ``deadlines`` come from structured fields and win over dates in text.
    """

    source_id: str
    guid: str
    url: str
    title: str
    html: str = ""
    text: str = ""
    published: datetime | None = None
    identifier: str | None = None
    deadlines: list[date] = field(default_factory=list)
    event_date: date | None = None
    language: str | None = None
    kind_hint: str | None = None
    programmes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
