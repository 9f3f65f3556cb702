"""Stored items: reclassify keeps admins' corrections; corrections export in dev.jsonl format.

Runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from watcher.classify import Classifier, Document
from watcher.classify.records import dumps
from watcher.classify.storage import (
    apply_classification,
    corrections_export,
    document_from_item,
    reclassify,
    record_correction,
)
from watcher.cli import app
from watcher.db import session_scope
from watcher.models import Item


def _item(guid: str, title: str, text: str, **extra: object) -> Item:
    return Item(
        source_id="test",
        guid=guid,
        url=f"https://example.org/{guid}",
        title=title,
        text=text,
        fingerprint=guid,
        published_at=datetime(2024, 2, 1, 9, tzinfo=UTC),
        **extra,
    )  # type: ignore[arg-type]


def test_reclassify_keeps_corrections(engine: Engine, classifier: Classifier) -> None:
    with session_scope(engine) as session:
        textile = _item("a", "Bando per le imprese tessili", "Scadenza: 30 aprile 2024.")
        tourism = _item("b", "Bando per le imprese turistiche", "Scadenza: 15 maggio 2024.")
        session.add_all([textile, tourism])
        session.flush()
        textile_id, tourism_id = textile.id, tourism.id
        assert tourism_id is not None
        record_correction(
            session, tourism_id, ecosystems=["tourism", "cultural-creative"], kind="call", author="anna"
        )

    report = reclassify(engine=engine, classifier=classifier)
    assert (report.seen, report.corrected_kept) == (2, 1)

    with session_scope(engine) as session:
        textile = session.get(Item, textile_id)
        tourism = session.get(Item, tourism_id)
        assert textile is not None and tourism is not None
        assert textile.ecosystems == ["textile"] and textile.kind == "call"
        assert textile.why["textile"] == ["tessili"]
        assert textile.deadlines == ["2024-04-30"] and not textile.corrected
        assert tourism.ecosystems == ["tourism", "cultural-creative"] and tourism.corrected
        assert tourism.deadlines == ["2024-05-15"]  # uncorrected fields still follow the classifier

    again = reclassify(engine=engine, classifier=classifier)
    assert again.changed == 0  # idempotent


def test_corrections_export_is_dev_jsonl(engine: Engine) -> None:
    with session_scope(engine) as session:
        item = _item(
            "c",
            "Workshop on logistics",
            "Join us on 5 March 2024.",
            kind="event",
            ecosystems=["mobility"],
            event_date=date(2024, 3, 5),
            identifier="X-1",
        )
        session.add(item)
        session.flush()
        assert item.id is not None
        record_correction(session, item.id, ecosystems=["mobility", "digital"])

    (record,) = list(corrections_export(engine=engine))
    assert json.loads(dumps(record)) == record
    assert record["title"] == "Workshop on logistics" and record["identifier"] == "X-1"
    assert record["published"] == "2024-02-01"
    assert record["gold"] == {
        "ecosystems": ["mobility", "digital"],
        "kind": "event",
        "deadline": None,
        "event_date": "2024-03-05",
    }


def test_apply_reports_changes_and_document_round_trip(classifier: Classifier) -> None:
    item = _item(
        "d",
        "Call for proposals: hydrogen valleys",
        "Deadline: 23 April 2025.",
        extra={"structured_deadlines": ["2025-04-23"], "kind_hint": "call"},
    )
    doc = document_from_item(item)
    assert doc.deadlines == [date(2025, 4, 23)] and doc.published == date(2024, 2, 1)
    result = classifier.classify(doc)
    assert apply_classification(item, result, today=date(2025, 1, 1))
    assert item.ecosystems == ["renewables"] and item.deadline == date(2025, 4, 23)
    assert not apply_classification(item, result, today=date(2025, 1, 1))
    assert isinstance(Document, type)


def test_reclassify_and_export_commands(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        item = _item("e", "Bando per le imprese tessili", "Scadenza: 30 aprile 2024.")
        session.add(item)
        session.flush()
        assert item.id is not None
        record_correction(session, item.id, kind="call", ecosystems=["textile", "retail"])
    runner = CliRunner()
    result = runner.invoke(app, ["reclassify"])
    assert result.exit_code == 0, result.output
    assert "items: 1" in result.stdout
    target = tmp_path / "labels.jsonl"
    result = runner.invoke(app, ["corrections", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    (line,) = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["gold"]["ecosystems"] == ["textile", "retail"]
