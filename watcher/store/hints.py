"""Facts gathered once for a batch of sources, so the store skips look-ups that cannot find anything.

In a first round every source is new: its look-up of stored rows and the check whether its story
keys span other sources each cost a query per source and found nothing. Two queries per batch now
say which sources have stored items at all and which of the batch's story keys are stored already.

Only exact while nobody else can add items between these queries and the batch's commit: the
caller holds SQLite's write lock (``BEGIN IMMEDIATE``) for the whole batch. PostgreSQL writers run
concurrently, so there the store goes without hints and looks everything up under its locks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, literal, select, union_all
from sqlmodel import Session

from watcher.db import in_chunks
from watcher.models import ITEM_TABLE
from watcher.normalize import NormalizedItem

_SOURCES_PER_QUERY = 100


@dataclass(frozen=True, slots=True)
class BatchHints:
    """What the database held when the batch began, plus what the batch itself carries."""

    sources_with_items: frozenset[str]
    # Story keys stored already (by any source) or carried by more than one source of the batch:
    # only these can end up shared by two sources once the batch is stored.
    keys_maybe_shared: frozenset[str]

    def has_items(self, source_id: str) -> bool:
        return source_id in self.sources_with_items


def batch_hints(session: Session, writes: Sequence[tuple[str, Sequence[NormalizedItem]]]) -> BatchHints:
    """Hints for ``writes`` ((source id, items) pairs); call inside the batch's write transaction."""
    appearances = Counter(source_id for source_id, _ in writes)
    sources = sorted(appearances)
    # A source written twice in one batch has items by its second write: never skip its look-up.
    with_items = {source_id for source_id, count in appearances.items() if count > 1}
    for some in in_chunks(sources, _SOURCES_PER_QUERY):
        probes = [select(literal(sid)).where(exists().where(ITEM_TABLE.c.source_id == sid)) for sid in some]
        with_items.update(row[0] for row in session.execute(union_all(*probes)))
    carriers: Counter[str] = Counter()
    for _, items in writes:
        carriers.update({item.story_key for item in items if item.story_key})
    keys = sorted(carriers)
    maybe_shared = {key for key, count in carriers.items() if count > 1}
    for chunk in in_chunks(keys):
        stored = select(ITEM_TABLE.c.story_key).where(ITEM_TABLE.c.story_key.in_(chunk)).distinct()
        maybe_shared.update(row[0] for row in session.execute(stored))
    return BatchHints(frozenset(with_items), frozenset(maybe_shared))
