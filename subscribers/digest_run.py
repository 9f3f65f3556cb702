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
from subscribers.candidates import CandidateSet, mask_of_bits
from subscribers.compose import Fragments, item_blocks, item_view
from subscribers.matching import audience
from subscribers.models import Subscriber, Topic
from subscribers.preferences import ECOSYSTEM_SLUGS, PreferencesInput, preferences_of
from subscribers.schedule import as_utc
from watcher.models import Item, ItemEvent
from watcher.settings import get_settings

KIND_ORDER = ("call", "event", "news")  # a digest's sections, in this order
OTHER = "other"  # the group of items in none of the subscriber's ecosystems


@dataclass(frozen=True, slots=True)
class Row:
    """What digest layout reads of an item, as plain values (ORM attribute access is slow in bulk)."""

    item: Item
    id: int
    bit: int  # the item's bit in the run's candidate set
    seen: int  # rank by first seen among the run's new items (after them: not new)
    kind: str
    ecosystems: tuple[str, ...]
    deadline: date | None
    editor_note: bool


def sort_key(item: Item) -> tuple[Any, ...]:
    """Calls by deadline, events by date, news newest first."""
    if item.kind == "call":
        return (item.deadline or date.max, item.id or 0)
    if item.kind == "event":
        return (item.event_date or date.max, item.id or 0)
    published = as_utc(item.published_at or item.first_seen_at)
    return (-published.timestamp(), item.id or 0)


def display_key(item: Item) -> tuple[Any, ...]:
    """Sections in ``KIND_ORDER``, then ``sort_key``: the order a digest lists new items in."""
    kind = KIND_ORDER.index(item.kind) if item.kind in KIND_ORDER else len(KIND_ORDER)
    return (kind, item.kind, sort_key(item))


@dataclass(slots=True)
class Selection:
    """What one subscriber's digest draws on; masks are over the run's candidate bits."""

    new: int  # new items, not yet closed
    noted: list[Row]  # pinned items updated in the window, then new items with an editor's note
    noted_mask: int
    closing: list[Row]  # by deadline
    changes: list[tuple[ItemEvent, Row]]


class DigestRun:
    """Candidates for every digest built at ``now`` whose window starts at or after ``since``.

    New items hold bits 0..n-1 in display order (``display_key``), so the lowest bits of any mask
    of new items are the first a digest shows: a digest takes the few rows it shows and counts the
    rest with ``int.bit_count`` instead of sorting and grouping its hundreds of matches.
    """

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
        new = queries.new_items(session, since=self.since, until=self.now)  # oldest first
        self._pinned = queries.pinned_items(session, since=self.since, until=self.now)
        self._changes = queries.deadline_changes(session, since=self.since, until=self.now)
        closing = queries.calls_closing(
            session, start=days[0], end=days[-1] + timedelta(days=self.closing_days)
        ) if days else []
        seen_rank = {item.id: rank for rank, item in enumerate(new)}
        self.candidates = CandidateSet(sorted(new, key=display_key))
        for item in (*self._pinned, *closing, *(item for _, item in self._changes)):
            self.candidates.add(item)
        self.new_count = len(new)
        self.rows = [
            _row(facts.item, bit, seen_rank.get(facts.item.id, len(new)))
            for bit, facts in enumerate(self.candidates.facts)
        ]
        new_rows = self.rows[: self.new_count]
        self._windows_seen, self._windows = _window_masks(new_rows)
        self._kinds = {kind: mask_of_bits(r.bit for r in new_rows if r.kind == kind) for kind in KIND_ORDER}
        self._noted_new = mask_of_bits(r.bit for r in new_rows if r.editor_note)
        self._ecosystem_at = _ecosystem_postings(new_rows)
        self._groups: dict[frozenset[str], dict[str, int]] = {}
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
            closed = mask_of_bits(r.bit for r in self.rows[: self.new_count] if _closed_call(r.item, today))
            closing = self.candidates.mask_of(
                i for i in self._closing if i.deadline is not None and today <= i.deadline <= horizon
            )
            masks = self._day_masks[today] = (closed, closing)
        return masks

    def select(
        self, subscriber: Subscriber, *, since: datetime, today: date, prefs: PreferencesInput | None = None
    ) -> Selection:
        """The subscriber's new, noted and closing items and deadline changes since ``since``
        (``prefs``: their ``preferences_of``, when the caller has it already)."""
        assert subscriber.id is not None
        since = as_utc(since)
        if since < self.since:
            raise ValueError(f"run starts at {self.since}, cannot build a digest since {since}")
        cands, rows = self.candidates, self.rows
        prefs = prefs or preferences_of(subscriber)
        chosen = cands.selected(audience(prefs, self.topics_of(subscriber.id)))
        closed, closing = self._masks_for(today)
        seen_after = self._windows[bisect_right(self._windows_seen, since)]
        new = chosen & seen_after & ~closed
        noted = [self._row(i) for i in self._pinned if as_utc(i.updated_at) > since and cands.has(chosen, i)]
        noted_mask = mask_of_bits(r.bit for r in noted)
        noted += sorted((rows[bit] for bit in cands.bits(new & self._noted_new & ~noted_mask)),
                        key=lambda r: r.seen)
        noted_mask |= new & self._noted_new
        closing_rows = sorted((rows[bit] for bit in cands.bits(chosen & closing)),
                              key=lambda r: (r.deadline, r.id))
        changes = [
            (event, self._row(item)) for event, item in self._changes
            if as_utc(event.at) > since and cands.has(chosen, item)
        ]
        return Selection(new, noted, noted_mask, closing_rows, changes)

    def kind_mask(self, kind: str) -> int:
        return self._kinds.get(kind, 0)

    def groups(self, followed: Iterable[str]) -> dict[str, int]:
        """New items by primary ecosystem for someone following ``followed`` (all when empty):
        the first of an item's ecosystems they follow; items with none are left out (``OTHER``)."""
        key = frozenset(followed)
        found = self._groups.get(key)
        if found is None:
            found = self._groups[key] = _primary_groups(self._ecosystem_at, key)
        return found

    def first_rows(self, mask: int, limit: int) -> list[Row]:
        """The rows of the ``limit`` lowest bits of ``mask`` (new items: the first shown)."""
        found: list[Row] = []
        while mask and len(found) < limit:
            low = mask & -mask
            found.append(self.rows[low.bit_length() - 1])
            mask ^= low
        return found

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


def _row(item: Item, bit: int, seen: int) -> Row:
    return Row(item, item.id or 0, bit, seen, item.kind, tuple(item.ecosystems or ()), item.deadline,
               bool(item.editor_note))


def _window_masks(new_rows: list[Row]) -> tuple[list[datetime], list[int]]:
    """(first-seen times ascending, masks[k] = new items after the k-th time): a window's new items
    are one bisect away."""
    by_seen = sorted(new_rows, key=lambda r: r.seen)
    seen = [as_utc(r.item.first_seen_at) for r in by_seen]
    masks = [0] * (len(by_seen) + 1)
    for k in range(len(by_seen) - 1, -1, -1):
        masks[k] = masks[k + 1] | (1 << by_seen[k].bit)
    return seen, masks


def _ecosystem_postings(new_rows: list[Row]) -> list[dict[str, int]]:
    """postings[i][slug]: the new items whose i-th ecosystem is ``slug``."""
    postings: list[dict[str, int]] = []
    for row in new_rows:
        for position, slug in enumerate(row.ecosystems):
            if position == len(postings):
                postings.append({})
            postings[position][slug] = postings[position].get(slug, 0) | (1 << row.bit)
    return postings


def _primary_groups(postings: list[dict[str, int]], followed: frozenset[str]) -> dict[str, int]:
    """Known ecosystem slug -> the new items it is the primary ecosystem of (see ``groups``)."""
    groups: dict[str, int] = {}
    taken = 0  # items whose primary ecosystem an earlier position already decided
    for at in postings:
        here = 0
        for slug, mask in at.items():
            if followed and slug not in followed:
                continue
            here |= mask
            if slug in ECOSYSTEM_SLUGS:
                groups[slug] = groups.get(slug, 0) | (mask & ~taken)
        taken |= here
        if not followed:
            break  # following everything: the first ecosystem is the primary one
    return groups


def _closed_call(item: Item, today: date) -> bool:
    return item.kind == "call" and item.deadline is not None and item.deadline < today
