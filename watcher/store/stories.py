"""Story linking: the portal's call, a region's copy and a cluster's post become one story.

Every item keeps its own row (mirrors are stored); mirrors point at the story's primary through
``story_id``. The primary is the item from a preferred source (the F&T portal) when there is one,
else the first seen (lowest id). Linking only happens across sources: two items of one source with
the same key are that source's business. Lookups go through the indexed ``story_key`` column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from watcher.db import in_chunks
from watcher.models import Item
from watcher.settings import get_settings


@dataclass(frozen=True, slots=True)
class NewStoryRow:
    """What linking reads of a row just inserted: it has no story yet, and no ``Item`` is built."""

    id: int
    source_id: str
    story_key: str | None
    story_id: None = None


def is_preferred(source_id: str) -> bool:
    return source_id.startswith(tuple(get_settings().story_primary_sources))


def _primary_order(row: Item) -> tuple[bool, int]:
    return (not is_preferred(row.source_id), row.id or 0)


def _group_rows(session: Session, keys: list[str]) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = {}
    for chunk in in_chunks(keys):
        for row in session.exec(select(Item).where(col(Item.story_key).in_(chunk))).all():
            groups.setdefault(row.story_key or "", []).append(row)
    return groups


def _keys_spanning_sources(session: Session, keys: list[str]) -> set[str]:
    """Those of ``keys`` that more than one source has published."""
    found: set[str] = set()
    for chunk in in_chunks(keys):
        statement = (
            select(Item.story_key)
            .where(col(Item.story_key).in_(chunk))
            .group_by(col(Item.story_key))
            .having(func.count(func.distinct(Item.source_id)) > 1)
        )
        found.update(key for key in session.exec(statement).all() if key)
    return found


def _serialise_keys(session: Session, keys: list[str]) -> None:
    """On PostgreSQL, wait for any other open transaction linking one of ``keys``.

    Two workers storing two mirrors of one story at once would otherwise each look for the other
    before it committed, find nothing, and leave the story unlinked. A transaction-scoped advisory
    lock per key (taken in sorted order, so two batches cannot deadlock) makes the second wait
    for the first to commit; its look-up then sees the first one's row. SQLite needs nothing:
    it runs one write transaction at a time.
    """
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(key) for key in keys})  # unnest keeps the array's (sorted) order
    lock = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k")
    session.execute(lock, {"ids": ids})


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def link_stories(
    session: Session, rows: Sequence[Item | NewStoryRow], *, maybe_shared: frozenset[str] | None = None
) -> list[Item]:
    """(Re)link the story groups of ``rows`` (new items or items whose key changed).

    Returns the rows whose ``story_id`` changed. Needs ids: call after the batch is flushed.
    ``maybe_shared``, when the caller knows it (``watcher.store.hints``), holds every key that can be
    shared across sources; the others need no look-up.
    """
    keys = sorted({row.story_key for row in rows if row.story_key})
    if maybe_shared is not None:
        keys = [key for key in keys if key in maybe_shared]
    _serialise_keys(session, keys)
    shared = _keys_spanning_sources(session, keys) if keys else set()
    # Only keys shared across sources, and rows that were mirrors, can need (un)linking; the
    # common case (a new item nobody else published) loads no rows at all.
    rows = [row for row in rows if row.story_key in shared or row.story_id is not None]
    groups = _group_rows(session, sorted(shared)) if shared else {}
    changed: dict[int, Item] = {}
    for row in rows:
        group = groups.get(row.story_key or "", [])
        if not any(member.source_id != row.source_id for member in group):
            if row.story_id is not None:  # its key changed and no longer matches another source
                row.story_id = None
                changed[id(row)] = row
            continue
        primary = min(group, key=_primary_order)
        for member in group:
            wanted = None if member is primary else primary.id
            if member.story_id != wanted:
                member.story_id = wanted
                changed[id(member)] = member
    return list(changed.values())
