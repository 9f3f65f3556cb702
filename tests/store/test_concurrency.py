"""Two writers storing the same (source_id, guid): the unique constraint plus a savepoint retry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.store.factory import NOW, entry, history, rows, store
from watcher.store import store_items


def test_losing_an_insert_race_updates_the_winners_row(engine: Engine) -> None:
    """Another process inserts the same guid between our lookup and our insert."""
    racing = False

    def other_process_inserts_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal racing
        if racing or not statement.lstrip().upper().startswith("INSERT INTO ITEM "):
            return
        racing = True
        store(engine, [entry("b", title="Written by the other process")])

    event.listen(engine, "before_cursor_execute", other_process_inserts_first)
    try:
        with Session(engine) as session:
            report = store_items(session, source_id="regione", items=[entry("a"), entry("b")], now=NOW)
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", other_process_inserts_first)
    stored = rows(engine)
    assert sorted(row.guid for row in stored) == ["a", "b"]
    assert {row.guid: row.title for row in stored}["b"] == "Item b"
    assert (report.new, report.updated) == (1, 1)
    kinds = sorted(kind for _, kind, _, _ in history(engine))
    assert kinds == ["title_changed"]


def test_many_rounds_many_sources_stay_consistent(engine: Engine) -> None:
    for round_number in range(3):
        for source in ("s1", "s2", "s3"):
            report = store(engine, [entry(f"{source}-{n}", source_id=source) for n in range(20)])
            assert report.new == (20 if round_number == 0 else 0)
    assert len(rows(engine)) == 60


def test_numbered_insert_falls_back_when_hints_missed_a_stored_guid(engine: Engine) -> None:
    """A write-locked batch numbers its rows itself (no RETURNING, no savepoint); should its hints
    ever be wrong, the clash still ends in an update of the stored row and an insert of the rest."""
    from watcher.store.hints import BatchHints

    if engine.dialect.name != "sqlite":
        pytest.skip("hints and numbered inserts are for SQLite's single writer")
    store(engine, [entry("b", title="Stored before")])
    wrong = BatchHints(sources_with_items=frozenset(), keys_maybe_shared=frozenset())
    with Session(engine) as session:
        report = store_items(
            session, source_id="regione", items=[entry("a"), entry("b")], now=NOW, hints=wrong
        )
        session.commit()
    stored = rows(engine)
    assert [(row.guid, row.title) for row in stored] == [("b", "Item b"), ("a", "Item a")]
    assert (report.new, report.updated) == (1, 1)
    assert report.item_ids == [stored[1].id, stored[0].id]


def test_numbered_insert_takes_the_ids_sqlite_would(engine: Engine) -> None:
    from watcher.store.hints import BatchHints

    if engine.dialect.name != "sqlite":
        pytest.skip("numbered inserts are for SQLite's single writer")
    store(engine, [entry("x")])
    hints = BatchHints(sources_with_items=frozenset(), keys_maybe_shared=frozenset())
    with Session(engine) as session:
        report = store_items(
            session, source_id="other", items=[entry("a", source_id="other"), entry("b", source_id="other")],
            now=NOW, hints=hints,
        )
        session.commit()
    assert [row.id for row in rows(engine)] == [1, 2, 3] and report.item_ids == [2, 3]
    assert [event.item.id for event in report.events] == [2, 3]
