"""Normalisation: an adapter's raw ``ItemDraft`` → clean, comparable ``NormalizedItem``.

Everything after this step can trust its input: the URL is canonical, the HTML is sanitised (safe
to show), the text is plain, the fingerprint says whether content changed and ``story_key`` says
which other sources' items are the same story. Language is left to the classifier.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from watcher.drafts import ItemDraft
from watcher.normalize.fingerprint import content_fingerprint
from watcher.normalize.sanitize import sanitize_html
from watcher.normalize.story import story_key
from watcher.normalize.text import clean_title, html_to_text
from watcher.normalize.url import canonical_url

__all__ = ["NormalizedItem", "canonical_url", "clean_title", "html_to_text", "normalize", "sanitize_html"]

# Column sizes of watcher.models.Item: longer values are shortened here, never rejected by the DB.
GUID_MAX = 1000
URL_MAX = 2000
IDENTIFIER_MAX = 300


@dataclass(slots=True)
class NormalizedItem:
    """One item ready for classification and storage."""

    source_id: str
    guid: str
    url: str
    title: str
    text: str = ""
    content_html: str = ""
    published: datetime | None = None
    identifier: str | None = None
    deadlines: list[date] = field(default_factory=list)
    event_date: date | None = None
    language: str | None = None
    kind_hint: str | None = None
    programmes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    story_key: str | None = None


def _fit(value: str, limit: int) -> str:
    """``value`` if it fits the column, else a stable hash of it (still unique, still comparable)."""
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _fit_url(url: str) -> str:
    if len(url) <= URL_MAX:
        return url
    without_query = url.split("?", 1)[0]
    return without_query if len(without_query) <= URL_MAX else url[:URL_MAX]


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive datetime from a sloppy feed is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize(draft: ItemDraft) -> NormalizedItem:
    """Canonical URL, clean title, plain text, sanitised HTML, fingerprint and story key."""
    url = _fit_url(canonical_url(draft.url))
    title = clean_title(draft.title)
    # The page's own address (not the canonical one) is what its relative links are relative to.
    raw_url = draft.url.strip()
    base = raw_url if raw_url.lower().startswith(("http://", "https://")) else url
    content_html = sanitize_html(draft.html, base_url=base) if draft.html else ""
    text = html_to_text(draft.html) if draft.html.strip() else html_to_text(draft.text)
    if not text and draft.text:
        text = html_to_text(draft.text)
    identifier = (draft.identifier or "").strip()[:IDENTIFIER_MAX] or None
    guid = _fit((draft.guid or "").strip() or url, GUID_MAX)
    key = story_key(identifier=identifier, url=url, title=title, text=text, content_html=content_html)
    return NormalizedItem(
        source_id=draft.source_id,
        guid=guid,
        url=url,
        title=title,
        text=text,
        content_html=content_html,
        published=_utc(draft.published),
        identifier=identifier,
        deadlines=sorted(set(draft.deadlines)),
        event_date=draft.event_date,
        language=draft.language,
        kind_hint=draft.kind_hint,
        programmes=list(draft.programmes),
        extra=dict(draft.extra),
        fingerprint=content_fingerprint(title, text),
        story_key=key,
    )
