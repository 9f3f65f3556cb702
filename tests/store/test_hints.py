"""Batch hints: what they say about a batch, and a hinted batch stored exactly like look-ups would."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.store.factory import entry, rows, store
from watcher.classify.document import Classification
from watcher.normalize import NormalizedItem
from watcher.pipeline_writer import store_batch
from watcher.store import StoreReport
from watcher.store.hints import batch_hints

TOPIC = "SMP-COSME-2025-CLUSTER-01"
OTHER = "HORIZON-CL4-2026-01-DATA-03"


def _mention(guid: str, source_id: str, topic: str) -> tuple[NormalizedItem, Classification]:
    return entry(guid, source_id=source_id, html=f"<p>Il topic {topic} è aperto.</p>")


def test_hints_name_sources_with_items_and_keys_that_may_be_shared(engine: Engine) -> None:
    store(engine, [_mention("old", "stored-source", TOPIC)])
    writes = [
        ("stored-source", [_mention("s2", "stored-source", "HORIZON-CL5-2026-02-D3-01")[0]]),
        ("new-a", [_mention("a1", "new-a", TOPIC)[0], _mention("a2", "new-a", "HORIZON-CL6-2026-03-X")[0]]),
        ("new-b", [_mention("b1", "new-b", OTHER)[0]]),
        ("new-c", [_mention("c1", "new-c", OTHER)[0]]),
    ]
    with Session(engine) as session:
        hints = batch_hints(session, writes)
    assert hints.sources_with_items == {"stored-source"}
    # stored already (TOPIC) or carried by two sources of the batch (OTHER); the rest is one source's
    assert hints.keys_maybe_shared == {f"topic:{TOPIC}", f"topic:{OTHER}"}
    with Session(engine) as session:
        assert batch_hints(session, writes[:1]).sources_with_items == {"stored-source"}  # a single probe
        twice = batch_hints(session, [writes[1], writes[1]])
    assert twice.sources_with_items == {"new-a"}  # its second write must look up what the first stored


def test_a_hinted_batch_links_and_updates_as_without_hints(engine: Engine) -> None:
    store(engine, [_mention("p1", "regione", TOPIC)])
    store(engine, [entry("kept", source_id="cluster", title="Before")])
    writes = [
        ("cluster", [entry("kept", source_id="cluster", title="After")]),  # an update, not a new row
        ("eccp", [_mention("e1", "eccp", TOPIC)]),  # mirrors a stored item of another source
        ("first", [_mention("f1", "first", OTHER)]),  # these two mirror each other within the batch
        ("second", [_mention("s1", "second", OTHER)]),
        ("alone", [entry("a1", source_id="alone")]),
    ]
    reports = store_batch(engine, writes, wait=True)
    counts = [(report.new, report.updated) for report in reports if isinstance(report, StoreReport)]
    assert counts == [(0, 1), (1, 0), (1, 0), (1, 0), (1, 0)]
    stored = rows(engine)
    found = {row.source_id: row for row in stored}
    assert found["cluster"].title == "After" and [row.source_id for row in stored].count("cluster") == 1
    assert found["eccp"].story_id == found["regione"].id and found["regione"].story_id is None
    assert found["second"].story_id == found["first"].id and found["first"].story_id is None
    assert found["alone"].story_id is None
