"""``store_items``: one batch of classified items into the database, deduplicated and linked.

Flow: load the rows the batch may match (a few ``IN`` queries), compute each item's values, apply
them to matched rows (only fields that differ are written), insert the new ones with one statement
(falling back to one savepoint per row if another process inserted the same guid meanwhile), link
stories, write history events. Nothing is published here: the caller commits, then publishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session

from watcher.classify.document import Classification
from watcher.db import sqlite_outside_transaction
from watcher.events import ItemStored, ItemUpdated
from watcher.models import ITEM_TABLE, Item, ItemEvent, utcnow
from watcher.normalize import NormalizedItem
from watcher.store.hints import BatchHints
from watcher.store.history import history_events
from watcher.store.lookup import ExistingRows, corrections_for, row_by_guid
from watcher.store.report import StoreReport
from watcher.store.stories import NewStoryRow, link_stories
from watcher.store.values import Diff, apply_corrections, apply_values, as_utc, row_values


@dataclass(slots=True)
class _Outcome:
    """What happened to one row of the batch (several batch entries may share one outcome).

    A new item has no ``row`` until ``_insert_all`` inserted it, and then only when something asks
    for ``item``: a round whose events nobody receives never builds one (14 us per new row).
    """

    row: Item | None
    values: dict[str, Any]
    new: bool
    diff: Diff = field(default_factory=Diff)
    inserted_id: int | None = None  # set by _insert_all for a row inserted with Core

    @property
    def item_id(self) -> int:
        item_id = self.row.id if self.row is not None else self.inserted_id
        assert item_id is not None, "new rows have ids once _insert_all ran"
        return item_id

    @property
    def item(self) -> Item:
        if self.row is None:
            assert self.inserted_id is not None, "new rows exist once _insert_all ran"
            # model_construct skips the ORM's constructor, which is what sets the mappers up on
            # first use: a process whose first ORM work is this would build rows it cannot read.
            configure_mappers()
            self.row = Item.model_construct(id=self.inserted_id, **self.values)
        return self.row

    def story_row(self) -> Item | NewStoryRow:
        """What story linking reads of this row (a new one's row is not built for that)."""
        if self.row is not None:
            return self.row
        return NewStoryRow(self.item_id, self.values["source_id"], self.values.get("story_key"))


def _update(outcome: _Outcome, values: dict[str, Any], *, now: datetime) -> None:
    if outcome.row is None:  # not inserted yet: the later copy wins
        outcome.values = values
        return
    diff = apply_values(outcome.item, values)
    for name, change in diff.meaningful.items():
        first_old = outcome.diff.meaningful.get(name, change)[0]
        outcome.diff.meaningful[name] = (first_old, change[1])
    outcome.diff.quiet.extend(diff.quiet)
    outcome.values = values
    if diff.meaningful and not outcome.new:
        outcome.item.updated_at = now


def _open_real_transaction(session: Session) -> None:
    """Make sure SQLite is inside a real transaction before the first SAVEPOINT.

    A SAVEPOINT sent outside a transaction starts one of its own and its RELEASE commits it, so the
    caller's later rollback would not undo our inserts.
    """
    connection = sqlite_outside_transaction(session)
    if connection is not None:
        connection.exec_driver_sql("BEGIN")


_ITEM_COLUMNS = tuple(
    column.name for column in Item.__table__.columns if column.name != "id"  # type: ignore[attr-defined]
)


_DEFAULTS = {
    name: field_info.get_default(call_default_factory=True)
    for name, field_info in Item.model_fields.items()
    if name in _ITEM_COLUMNS
}


def _new_row(values: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Every column of a new item: ``values`` from ``row_values`` over the model's defaults.

    It is inserted with one Core statement (see ``_insert_all``) and only then becomes an ``Item``,
    built without validation or ORM instrumentation (it never joins the session): both cost more
    than the insert itself.
    """
    return {**_DEFAULTS, **values, "first_seen_at": now, "updated_at": now}


def _insert_returning(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert ``rows`` in a savepoint (a unique clash undoes only them); their ids by guid."""
    with session.begin_nested():
        # The table, not the entity: an entity insert goes through the ORM's bulk machinery.
        # Ids come back matched by guid (unique in the batch's source), not by parameter order:
        # asking for that order makes SQLite run one INSERT per row instead of a few batches.
        statement = insert(ITEM_TABLE).returning(ITEM_TABLE.c.guid, ITEM_TABLE.c.id)
        return {guid: item_id for guid, item_id in session.execute(statement, rows)}


def _insert_numbered(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert ``rows`` with the ids SQLite would give them (the table's next ones); ids by guid.

    Only for a writer holding SQLite's write lock, so nobody can take those ids meanwhile. A plain
    ``executemany`` costs SQLite and SQLAlchemy a fifth less than ``INSERT ... RETURNING`` per row,
    and needs no savepoint: on a unique clash the rows it inserted before are the ones numbered
    past ``last``, deleted before the error goes on to the row-by-row fallback.
    """
    last = session.execute(select(func.max(ITEM_TABLE.c.id))).scalar() or 0
    for number, row in enumerate(rows, start=last + 1):
        row["id"] = number
    try:
        session.execute(insert(ITEM_TABLE), rows)
    except IntegrityError:
        session.execute(delete(ITEM_TABLE).where(ITEM_TABLE.c.id > last))
        raise  # the fallback builds its rows afresh from the outcomes' values
    return {row["guid"]: row.pop("id") for row in rows}


def _insert_all(session: Session, pending: list[_Outcome], *, now: datetime, exclusive: bool) -> None:
    """Insert new rows with one statement; on a unique clash, row by row, updating the clashing ones.

    ``exclusive``: the caller holds SQLite's write lock for the whole batch (see
    ``watcher.store.hints``), so no other writer can insert rows or take ids meanwhile.
    """
    if not pending:
        return
    _open_real_transaction(session)
    rows = [_new_row(outcome.values, now=now) for outcome in pending]
    try:
        ids = _insert_numbered(session, rows) if exclusive else _insert_returning(session, rows)
        for outcome, values in zip(pending, rows, strict=True):
            outcome.values, outcome.inserted_id = values, ids[values["guid"]]
        return
    except IntegrityError:
        pass  # another writer stored one of these guids since we looked; sort it out row by row
    for outcome in pending:
        outcome.row = Item(**_new_row(outcome.values, now=now))
        try:
            with session.begin_nested():
                session.add(outcome.row)
                session.flush()
        except IntegrityError:
            existing = row_by_guid(
                session, source_id=outcome.values["source_id"], guid=outcome.values["guid"]
            )
            if existing is None:
                raise
            outcome.row, outcome.new = existing, False
            _update(outcome, outcome.values, now=now)


def _snapshot(row: Item, *, new: bool) -> Item:
    """A detached copy for events: readable after commit and session close, never flushed.

    New rows were never in the session (inserted by Core), so they serve as they are; updated
    rows are session objects and are copied with ``model_construct`` (validated already).
    """
    return row if new else Item.model_construct(**row.model_dump())


def _report(
    outcomes: list[_Outcome], order: list[int], *, now: datetime, session: Session, events: bool
) -> StoreReport:
    report = StoreReport()
    history: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.new:
            report.new += 1
            if events:
                report.events.append(ItemStored(item=_snapshot(outcome.item, new=True)))
        elif outcome.diff.meaningful:
            report.updated += 1
            changes = outcome.diff.meaningful
            history.extend(history_events(item_id=outcome.item_id, changes=changes, at=now))
            if events:
                report.events.append(
                    ItemUpdated(item=_snapshot(outcome.item, new=False), changes=dict(changes))
                )
    report.unchanged = len(order) - report.new - report.updated
    report.item_ids = list(dict.fromkeys(outcomes[index].item_id for index in order))
    if history:  # one Core statement: these rows are written once and never read back here
        session.execute(insert(ItemEvent.__table__), history)  # type: ignore[attr-defined]
    session.flush()
    return report


def store_items(
    session: Session,
    *,
    source_id: str,
    items: Sequence[tuple[NormalizedItem, Classification]],
    now: datetime | None = None,
    hints: BatchHints | None = None,
    events: bool = True,
) -> StoreReport:
    """Insert new items, update changed ones, link mirrors; return counts and events to publish.

    Runs inside the caller's transaction and does not commit; call ``publish_events`` after commit.
    ``hints`` (see ``watcher.store.hints``) let a write-locked batch skip look-ups that find nothing.
    Without ``events`` the report carries none (nobody receives them): no item rows are built.
    """
    now = as_utc(now) if now else utcnow()
    batch = [item for item, _ in items]
    source_empty = hints is not None and not hints.has_items(source_id)
    existing = ExistingRows(session, source_id=source_id, items=batch, source_empty=source_empty)
    corrections = corrections_for(session, existing.rows())
    outcomes: list[_Outcome] = []
    by_row: dict[int, int] = {}  # id(row) -> index in outcomes
    by_guid: dict[str, int] = {}
    order: list[int] = []
    for item, result in items:
        values = row_values(item, result, now=now)
        values["source_id"] = source_id  # the batch's source, whatever an adapter wrote in the item
        index = by_guid.get(item.guid)
        row = outcomes[index].row if index is not None else existing.find(item)
        if index is None and row is not None:
            index = by_row.get(id(row))
        correction = corrections.get(row.id) if row is not None and row.id is not None else None
        apply_corrections(values, row=row, correction=correction)
        if index is None:
            if row is None:
                outcome = _Outcome(row=None, values=values, new=True)
            else:
                outcome = _Outcome(row=row, values=values, new=False)
                _update(outcome, values, now=now)
            outcomes.append(outcome)
            index = len(outcomes) - 1
            if row is not None:
                by_row[id(row)] = index
        else:  # the same item twice in one batch: the later copy wins, counted as unchanged
            _update(outcomes[index], values, now=now)
        by_guid[item.guid] = index
        order.append(index)
    new = [outcome for outcome in outcomes if outcome.new]
    _insert_all(session, new, now=now, exclusive=hints is not None)
    relink = [o.story_row() for o in outcomes if o.new or "story_key" in o.diff.quiet]
    link_stories(session, relink, maybe_shared=hints.keys_maybe_shared if hints else None)
    return _report(outcomes, order, now=now, session=session, events=events)
