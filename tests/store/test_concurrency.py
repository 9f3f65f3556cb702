"""Two writers storing the same (source_id, guid): the unique constraint plus a savepoint retry."""

from __future__ import annotations

from typing import Any

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
