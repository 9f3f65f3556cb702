"""One digest job's shared work: candidates loaded, folded and indexed once for every subscriber.

``send_due_digests`` used to query the same ~2,000 items and fold their text again for each of
10,000 subscribers. A ``DigestRun`` loads the candidates of the whole run once (new since the
OLDEST ``since`` among due subscribers, calls closing, deadline changes, pinned/annotated items),
indexes them (``CandidateSet``), loads every followed topic in one query and caches item views;
each subscriber then narrows the shared candidates to its own window and local day.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from subscribers import queries
from subscribers.candidates import CandidateSet
from subscribers.compose import Fragments, item_blocks, item_view
from subscribers.matching import audience
from subscribers.models import Subscriber, Topic
from subscribers.preferences import preferences_of
from subscribers.schedule import as_utc
from watcher.models import Item, ItemEvent
from watcher.settings import get_settings


@dataclass(frozen=True, slots=True)
class Row:
    """What digest layout reads of an item, as plain values (ORM attribute access is slow in bulk)."""

    item: Item
    id: int
    kind: str
    ecosystems: tuple[str, ...]
    deadline: date | None
    editor_note: bool
    sort_key: tuple[Any, ...]


def sort_key(item: Item) -> tuple[Any, ...]:
    """Calls by deadline, events by date, news newest first."""
    if item.kind == "call":
        return (item.deadline or date.max, item.id or 0)
    if item.kind == "event":
        return (item.event_date or date.max, item.id or 0)
    published = as_utc(item.published_at or item.first_seen_at)
    return (-published.timestamp(), item.id or 0)


def row_of(item: Item) -> Row:
    return Row(item, item.id or 0, item.kind, tuple(item.ecosystems or ()), item.deadline,
               bool(item.editor_note), sort_key(item))


@dataclass(slots=True)
class Selection:
    """What one subscriber's digest draws on, each list in the order the digest shows it."""

    new: list[Row]
    noted: list[Row]
    closing: list[Row]
    changes: list[tuple[ItemEvent, Row]]


class DigestRun:
    """Candidates for every digest built at ``now`` whose window starts at or after ``since``."""

    def __init__(
        self,
        session: Session,
        *,
        now: datetime,
        since: datetime,
        days: Iterable[date],
        topics: dict[int, list[Topic]] | None = None,
    ) -> None:
        days = sorted(set(days))
        self.session, self.now, self.since = session, as_utc(now), as_utc(since)
        self.closing_days = get_settings().digest_closing_soon_days
        new = queries.new_items(session, since=self.since, until=self.now)
        self._pinned = queries.pinned_items(session, since=self.since, until=self.now)
        self._changes = queries.deadline_changes(session, since=self.since, until=self.now)
        closing = queries.calls_closing(
            session, start=days[0], end=days[-1] + timedelta(days=self.closing_days)
        ) if days else []
        self.candidates = CandidateSet(new)  # new items hold bits 0..n-1, in first-seen order
        for item in (*self._pinned, *closing, *(item for _, item in self._changes)):
            self.candidates.add(item)
        self._new_seen = [as_utc(item.first_seen_at) for item in new]
        self.rows = [row_of(facts.item) for facts in self.candidates.facts]
        self._closing = closing
        self._topics = topics
        self._day_masks: dict[date, tuple[int, int]] = {}
        self._views: dict[tuple[int | None, str, date], dict[str, Any]] = {}
        self.fragments: Fragments | None = Fragments()  # item blocks, their CSS inlined once per run

    def topics_of(self, subscriber_id: int) -> list[Topic]:
        if self._topics is None:
            return queries.followed_topics(self.session, subscriber_id)
        return self._topics.get(subscriber_id, [])

    def _masks_for(self, today: date) -> tuple[int, int]:
        """(new calls already closed on ``today``, calls closing within the horizon of ``today``)."""
        masks = self._day_masks.get(today)
        if masks is None:
            horizon = today + timedelta(days=self.closing_days)
            closed = self.candidates.mask_of(
                self.candidates.facts[bit].item for bit in range(len(self._new_seen))
                if _closed_call(self.candidates.facts[bit].item, today)
            )
            closing = self.candidates.mask_of(
                i for i in self._closing if i.deadline is not None and today <= i.deadline <= horizon
            )
            masks = self._day_masks[today] = (closed, closing)
        return masks

    def select(self, subscriber: Subscriber, *, since: datetime, today: date) -> Selection:
        """The subscriber's new, noted and closing items and deadline changes since ``since``."""
        assert subscriber.id is not None
        since = as_utc(since)
        if since < self.since:
            raise ValueError(f"run starts at {self.since}, cannot build a digest since {since}")
        cands, rows = self.candidates, self.rows
        chosen = cands.selected(audience(preferences_of(subscriber), self.topics_of(subscriber.id)))
        closed, closing = self._masks_for(today)
        first = bisect_right(self._new_seen, since)
        window = ((1 << len(self._new_seen)) - 1) & ~((1 << first) - 1)
        new = [rows[bit] for bit in cands.bits(chosen & window & ~closed)]
        noted = [self._row(i) for i in self._pinned if as_utc(i.updated_at) > since and cands.has(chosen, i)]
        closing_rows = sorted((rows[bit] for bit in cands.bits(chosen & closing)),
                              key=lambda r: (r.deadline, r.id))
        changes = [
            (event, self._row(item)) for event, item in self._changes
            if as_utc(event.at) > since and cands.has(chosen, item)
        ]
        return Selection(new, noted, closing_rows, changes)

    def _row(self, item: Item) -> Row:
        return self.rows[self.candidates.position[item.id or 0]]

    def view(self, item: Item, language: str, today: date) -> dict[str, Any]:
        """``compose.item_view`` with rendered blocks, once per (item, language, day) in the run.

        Callers must not mutate it: every subscriber's digest shares it."""
        key = (item.id, language, today)
        found = self._views.get(key)
        if found is None:
            view = item_view(item, language, today=today)
            found = self._views[key] = item_blocks(view, language, self.fragments)
        return found


def _closed_call(item: Item, today: date) -> bool:
    return item.kind == "call" and item.deadline is not None and item.deadline < today
