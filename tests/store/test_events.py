"""Events reach subscribers only after the caller committed, with rows readable after the session."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.store.factory import NOW, entry, rows
from watcher import events
from watcher.events import Event, ItemStored, ItemUpdated
from watcher.store import publish_events, store_items


def test_events_are_published_after_commit_and_readable(engine: Engine) -> None:
    received: list[Event] = []
    committed_when_received: list[int] = []

    def handler(event: Event) -> None:
        received.append(event)
        committed_when_received.append(len(rows(engine)))  # another connection sees the row

    unsubscribe = events.subscribe(handler)
    try:
        with Session(engine) as session:
            report = store_items(session, source_id="regione", items=[entry("a")], now=NOW)
            assert received == []  # store_items itself publishes nothing
            session.commit()
        publish_events(report)
        with Session(engine) as session:
            report = store_items(
                session, source_id="regione", items=[entry("a", deadlines=[date(2025, 6, 1)])], now=NOW
            )
            session.commit()
        publish_events(report)
    finally:
        unsubscribe()
    assert [type(event) for event in received] == [ItemStored, ItemUpdated]
    assert committed_when_received == [1, 1]
    assert received[0].item.title == "Item a" and received[0].item.id == rows(engine)[0].id
    updated = received[1]
    assert isinstance(updated, ItemUpdated)
    assert updated.changes["deadline"] == (None, date(2025, 6, 1))
    assert updated.item.deadline == date(2025, 6, 1)


def test_rolled_back_batch_publishes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        report = store_items(session, source_id="regione", items=[entry("a")], now=NOW)
        session.rollback()
    assert rows(engine) == [] and len(report.events) == 1  # the caller simply does not publish
