"""Every seed document, the dev set and our own labelled items, scored against the acceptance bar."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from watcher.classify import Classifier, Document
from watcher.classify.evaluation import evaluate

DATA = Path(__file__).resolve().parents[1] / "data"
DEV = DATA / "eval" / "dev.jsonl"
OWN = Path(__file__).parent / "data" / "own_items.jsonl"
OWN_2 = Path(__file__).parent / "data" / "own_items_2.jsonl"  # written before any tuning on it
OWN_3 = Path(__file__).parent / "data" / "own_items_3.jsonl"  # likewise
OWN_4 = Path(__file__).parent / "data" / "own_items_4.jsonl"  # likewise
OWN_5 = Path(__file__).parent / "data" / "own_items_5.jsonl"  # likewise (fr/de/es items too)


def _dev_seed_records() -> list[dict[str, object]]:
    records = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in records if str(r.get("source", "")).startswith("seeds/")]


def test_every_seed_file_is_labelled() -> None:
    seeds = sorted(p.name for p in (DATA / "seeds").glob("*.txt"))
    labelled = sorted(Path(str(r["source"])).name for r in _dev_seed_records())
    assert seeds and seeds == labelled


@pytest.mark.parametrize("record", _dev_seed_records(), ids=lambda r: str(r["id"]))
def test_seed_document(classifier: Classifier, record: dict[str, object]) -> None:
    """Classify the seed file itself (not the eval copy) and compare with its label."""
    text = (DATA / str(record["source"])).read_text(encoding="utf-8")
    gold = record["gold"]
    assert isinstance(gold, dict)
    result = classifier.classify(
        Document(id=str(record["id"]), title=str(record["title"]), text=text), today=date(2026, 1, 1)
    )
    assert sorted(result.ecosystems) == sorted(gold["ecosystems"])
    assert result.kind == gold["kind"]
    assert (result.deadline.isoformat() if result.deadline else None) == gold["deadline"]
    if gold.get("event_date"):
        assert result.event_date is not None and result.event_date.isoformat() == gold["event_date"]
    for slug in result.ecosystems:
        assert result.why[slug], "every ecosystem comes with the terms that produced it"


@pytest.mark.parametrize(
    "path", [DEV, OWN, OWN_2, OWN_3, OWN_4, OWN_5], ids=["dev", "own", "own2", "own3", "own4", "own5"]
)
def test_quality_bar(classifier: Classifier, path: Path) -> None:
    report = evaluate(path.read_text(encoding="utf-8").splitlines(), classifier).as_dict()
    assert not report["errors"]
    assert report["micro"]["f1"] >= 0.85, report
    assert report["kind_accuracy"] >= 0.90, report
    assert report["deadline_accuracy"] >= 0.90, report


def test_eval_never_shows_gold_to_the_classifier(classifier: Classifier) -> None:
    line = json.dumps(
        {
            "id": "x",
            "title": "Bando tessile",
            "text": "",
            "gold": {"ecosystems": ["textile"], "kind": "call", "deadline": None},
        }
    )
    report = evaluate([line, "not json"], classifier)
    assert report.items == 1
    assert report.errors and "line 2" in report.errors[0]
