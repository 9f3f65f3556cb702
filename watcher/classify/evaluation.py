"""Scoring the classifier on labelled JSONL (``gold`` per line, the format of ``dev.jsonl``).

Micro precision/recall/F1 over (item, ecosystem) pairs, per-ecosystem figures, a confusion
summary (which ecosystem was predicted where another was expected), kind accuracy and deadline
exact-match accuracy (null = null counts as a match), event-date accuracy where gold states one.
The ``gold`` object is removed before classification so the code being scored never sees it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from watcher.classify.classifier import Classifier
from watcher.classify.records import RecordError, document_from_record


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def figures(self) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Report:
    """Everything ``watcher eval`` prints."""

    items: int = 0
    micro: Counts = field(default_factory=Counts)
    per_ecosystem: dict[str, Counts] = field(default_factory=dict)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    kind_correct: int = 0
    kind_confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    deadline_correct: int = 0
    event_total: int = 0
    event_correct: int = 0
    errors: list[str] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        n = self.items or 1
        return {
            "items": self.items,
            "micro": self.micro.figures(),
            "per_ecosystem": {slug: c.figures() for slug, c in sorted(self.per_ecosystem.items())},
            "confusions": [
                {"expected": gold, "predicted": pred, "count": count}
                for (gold, pred), count in self.confusions.most_common(20)
            ],
            "kind_accuracy": round(self.kind_correct / n, 4),
            "kind_confusions": [
                {"expected": gold, "predicted": pred, "count": count}
                for (gold, pred), count in self.kind_confusions.most_common()
            ],
            "deadline_accuracy": round(self.deadline_correct / n, 4),
            "event_date_accuracy": round(self.event_correct / self.event_total, 4)
            if self.event_total
            else None,
            "errors": self.errors,
        }


def _count(report: Report, predicted: set[str], gold: set[str]) -> None:
    for slug in predicted | gold:
        counts = report.per_ecosystem.setdefault(slug, Counts())
        if slug in predicted and slug in gold:
            counts.tp += 1
            report.micro.tp += 1
        elif slug in predicted:
            counts.fp += 1
            report.micro.fp += 1
        else:
            counts.fn += 1
            report.micro.fn += 1
    missing, extras = gold - predicted, predicted - gold
    for slug in missing:  # expected slug, predicted another one instead (or nothing)
        for extra in extras or {"(none)"}:
            report.confusions[(slug, extra)] += 1
    if not missing:  # an extra ecosystem next to the expected ones (or on an item that has none)
        for extra in extras:
            for slug in gold or {"(none)"}:
                report.confusions[(slug, extra)] += 1


def evaluate(lines: Iterable[str], classifier: Classifier) -> Report:
    """Score ``classifier`` on labelled JSON lines; unusable lines are listed, not fatal."""
    report = Report()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            gold = record.pop("gold")
            doc = document_from_record(record)
        except (json.JSONDecodeError, KeyError, AttributeError, RecordError) as error:
            report.errors.append(f"line {number}: {type(error).__name__}: {error}")
            continue
        result = classifier.classify(doc)
        report.items += 1
        _count(report, set(result.ecosystems), set(gold.get("ecosystems") or []))
        if result.kind == gold.get("kind"):
            report.kind_correct += 1
        else:
            report.kind_confusions[(str(gold.get("kind")), result.kind)] += 1
        deadline = result.deadline.isoformat() if result.deadline else None
        report.deadline_correct += deadline == gold.get("deadline")
        if gold.get("event_date"):
            report.event_total += 1
            event = result.event_date.isoformat() if result.event_date else None
            report.event_correct += event == gold["event_date"]
        if (
            set(result.ecosystems) != set(gold.get("ecosystems") or [])
            or result.kind != gold.get("kind")
            or deadline != gold.get("deadline")
        ):
            report.misses.append(
                {
                    "id": doc.id,
                    "ecosystems": result.ecosystems,
                    "kind": result.kind,
                    "deadline": deadline,
                    "gold": gold,
                }
            )
    return report


def render(report: Report) -> str:
    """Human-readable summary (``watcher eval`` without ``--json`` flags prints this)."""
    data = report.as_dict()
    micro = data["micro"]
    lines = [
        f"items: {data['items']}",
        f"ecosystems micro  P={micro['precision']:.3f}  R={micro['recall']:.3f}  F1={micro['f1']:.3f}"
        f"  (tp={micro['tp']} fp={micro['fp']} fn={micro['fn']})",
        "per ecosystem:",
    ]
    for slug, fig in data["per_ecosystem"].items():
        lines.append(
            f"  {slug:<20} P={fig['precision']:.3f} R={fig['recall']:.3f} F1={fig['f1']:.3f}"
            f"  tp={fig['tp']} fp={fig['fp']} fn={fig['fn']}"
        )
    lines.append("confusions (expected -> predicted instead or in addition):")
    lines += [f"  {c['expected']} -> {c['predicted']}: {c['count']}" for c in data["confusions"]] or [
        "  none"
    ]
    lines.append(f"kind accuracy: {data['kind_accuracy']:.3f}")
    lines += [f"  {c['expected']} -> {c['predicted']}: {c['count']}" for c in data["kind_confusions"]]
    lines.append(f"deadline exact-match accuracy: {data['deadline_accuracy']:.3f}")
    if data["event_date_accuracy"] is not None:
        lines.append(f"event date accuracy: {data['event_date_accuracy']:.3f} (of {report.event_total})")
    lines += [f"error: {error}" for error in data["errors"]]
    return "\n".join(lines)
