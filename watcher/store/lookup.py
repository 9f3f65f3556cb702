"""Finding the stored row an incoming item is: by guid, else canonical URL, else portal identifier.

One query per batch (guid, URL or identifier ``IN (...)``), never one per item. URL and identifier are only
trusted when they identify one item in the batch: some feeds give every entry the same landing-page
link, and merging those would silently lose items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from watcher.db import IN_CHUNK, in_chunks
from watcher.models import Correction, Item
from watcher.normalize import NormalizedItem


def _candidates(session: Session, *, source_id: str, items: Sequence[NormalizedItem]) -> list[Item]:
    """Rows of ``source_id`` sharing a guid, URL or identifier with an item of the batch."""
    rows: dict[int | None, Item] = {}
    for chunk in in_chunks(items, IN_CHUNK // 3):  # three IN lists per query
        keys: list[ColumnElement[bool]] = [
            col(Item.guid).in_(sorted({item.guid for item in chunk})),
            col(Item.url).in_(sorted({item.url for item in chunk})),
        ]
        identifiers = sorted({item.identifier for item in chunk if item.identifier})
        if identifiers:
            keys.append(col(Item.identifier).in_(identifiers))
        statement = select(Item).where(Item.source_id == source_id, or_(*keys))
        rows.update((row.id, row) for row in session.exec(statement).all())
    return list(rows.values())


def _is_site_root(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


class ExistingRows:
    """Stored rows of one source that the batch may refer to, indexed by each match key."""

    def __init__(
        self, session: Session, *, source_id: str, items: Sequence[NormalizedItem], source_empty: bool = False
    ) -> None:
        """``source_empty``: the caller knows the source has no stored items, so nothing is looked up."""
        # One query for every key kind: the URL and identifier matches are picked from it below.
        candidates = [] if source_empty else _candidates(session, source_id=source_id, items=items)
        if not candidates:  # a new source, or nothing of the batch stored yet: nothing can match
            self.by_guid, self.by_url, self.by_identifier = {}, {}, {}
            self._urls, self._identifiers = set(), set()
            return
        batch_guids = {item.guid for item in items}
        self.by_guid = {row.guid: row for row in candidates if row.guid in batch_guids}
        url_counts = Counter(item.url for item in items)
        id_counts = Counter(item.identifier for item in items if item.identifier)
        unmatched = [item for item in items if item.guid not in self.by_guid]
        self._urls = {
            item.url for item in unmatched if url_counts[item.url] == 1 and not _is_site_root(item.url)
        }
        self._identifiers = {
            item.identifier for item in unmatched if item.identifier and id_counts[item.identifier] == 1
        }
        # A row whose own guid is in this batch belongs to that item; never hand it to another one.
        others = [row for row in candidates if row.guid not in batch_guids]
        self.by_url = self._index(others, values=self._urls, attr="url")
        self.by_identifier = self._index(others, values=self._identifiers, attr="identifier")

    @staticmethod
    def _index(rows: list[Item], *, values: set[str], attr: str) -> dict[str, Item]:
        """Rows matching exactly one stored row by ``attr``; ambiguous keys match nothing."""
        found: dict[str, list[Item]] = {}
        for row in rows:
            key = getattr(row, attr)
            if key in values:
                found.setdefault(key, []).append(row)
        return {key: rows[0] for key, rows in found.items() if len(rows) == 1}

    def find(self, item: NormalizedItem) -> Item | None:
        row = self.by_guid.get(item.guid)
        if row is None and item.url in self._urls:
            row = self.by_url.get(item.url)
        if row is None and item.identifier in self._identifiers:
            row = self.by_identifier.get(item.identifier or "")
        return row

    def rows(self) -> list[Item]:
        unique = {
            id(row): row
            for row in [*self.by_guid.values(), *self.by_url.values(), *self.by_identifier.values()]
        }
        return list(unique.values())


def corrections_for(session: Session, rows: Sequence[Item]) -> dict[int, Correction]:
    """Admin corrections of the matched rows, one query."""
    ids = sorted({row.id for row in rows if row.id is not None})
    found: dict[int, Correction] = {}
    for chunk in in_chunks(ids):
        for correction in session.exec(select(Correction).where(col(Correction.item_id).in_(chunk))).all():
            found[correction.item_id] = correction
    return found


def row_by_guid(session: Session, *, source_id: str, guid: str) -> Item | None:
    """Re-read after losing an insert race to another process."""
    return session.exec(select(Item).where(Item.source_id == source_id, Item.guid == guid)).first()
