"""Two transactions storing two mirrors of one story at once must still link them (PostgreSQL).

Pool workers store concurrently; without serialising per story key, each transaction looked for
the other's row before it was committed, found nothing, and the story stayed unlinked.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.store.factory import NOW, PORTAL, entry, rows
from watcher.store import store_items


def test_concurrent_mirrors_are_linked(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no race to test")
    topic = "HORIZON-CL4-2026-01-DIGITAL-01"
    portal_item = entry("p1", source_id="ft-portal", url=PORTAL + topic, identifier=topic)
    regional_item = entry("r1", source_id="regione", title=f"Bando {topic}", html=f"<p>Il topic {topic}</p>")

    first = Session(engine)
    store_items(first, source_id="ft-portal", items=[portal_item], now=NOW)  # not committed yet
    finished = threading.Event()

    def second_writer() -> None:
        with Session(engine) as second:
            store_items(second, source_id="regione", items=[regional_item], now=NOW)
            second.commit()
        finished.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not finished.wait(1.0), "the second writer should wait for the first one's story key"
    first.commit()
    first.close()
    thread.join(30)
    assert finished.is_set()
    stored = {row.source_id: row for row in rows(engine)}
    assert stored["ft-portal"].story_key == stored["regione"].story_key
    assert stored["regione"].story_id == stored["ft-portal"].id and stored["ft-portal"].story_id is None
