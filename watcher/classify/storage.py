"""Classification of stored items: apply results, honour admins' corrections, re-run, export labels.

Why corrections are applied here and not only in the web app: every path that writes a
classification onto an item (ingest of a new or changed item, ``watcher reclassify`` after a
taxonomy change) goes through :func:`apply_classification`, so a human decision always wins and
survives re-polls. ``corrections export`` turns those decisions into labelled JSONL in the format
of ``tests/data/eval/dev.jsonl`` to grow the evaluation set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.classify.classifier import Classifier
from watcher.classify.dates import BRUSSELS, to_brussels_date
from watcher.classify.document import Classification, Document
from watcher.db import session_scope
from watcher.models import Correction, Item, utcnow


def _day(value: datetime | None) -> date | None:
    return to_brussels_date(value) if value else None


def _structured_deadlines(item: Item) -> list[date]:
    raw = item.extra.get("structured_deadlines", item.deadlines) if item.extra else item.deadlines
    days = []
    for value in raw or []:
        try:
            days.append(to_brussels_date(value))
        except (ValueError, TypeError):
            continue
    return days


def document_from_item(item: Item) -> Document:
    """The classifier input for a stored item (structured deadlines from ``extra`` when kept)."""
    return Document(
        id=str(item.id),
        title=item.title,
        text=item.text,
        url=item.url,
        language=item.language,
        identifier=item.identifier,
        published=_day(item.published_at),
        deadlines=_structured_deadlines(item),
        default_kind=(item.extra or {}).get("kind_hint"),
        programmes=list(item.programmes or []),
    )


def stored_deadline(deadlines: list[date], today: date) -> date | None:
    """What ``Item.deadline`` holds: the first upcoming deadline, else the last one."""
    upcoming = [d for d in deadlines if d >= today]
    return min(upcoming) if upcoming else (max(deadlines) if deadlines else None)


def apply_classification(
    item: Item, result: Classification, *, correction: Correction | None = None, today: date | None = None
) -> bool:
    """Write ``result`` onto ``item``, keeping every field an admin corrected; True if anything changed."""
    today = today or datetime.now(BRUSSELS).date()
    values: dict[str, Any] = {
        "ecosystems": list(result.ecosystems),
        "scores": dict(result.scores),
        "why": {slug: list(terms) for slug, terms in result.why.items()},
        "kind": result.kind,
        "deadlines": [d.isoformat() for d in result.deadlines],
        "deadline": stored_deadline(result.deadlines, today),
        "event_date": result.event_date,
        "programmes": list(result.programmes),
        "tags": list(result.tags),
        "language": item.language or result.language,
    }
    if correction is not None:
        for name in ("ecosystems", "kind", "deadline", "event_date"):
            corrected = getattr(correction, name)
            if corrected is not None:
                values[name] = list(corrected) if name == "ecosystems" else corrected
        values["corrected"] = True
    changed = False
    for name, value in values.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    return changed


def record_correction(
    session: Session,
    item_id: int,
    *,
    author: str = "admin",
    ecosystems: list[str] | None = None,
    kind: str | None = None,
    deadline: date | None = None,
    event_date: date | None = None,
) -> Correction:
    """Store (or update) an admin's reclassification and apply it to the item at once."""
    item = session.get(Item, item_id)
    if item is None:
        raise LookupError(f"no item {item_id}")
    correction = session.get(Correction, item_id) or Correction(item_id=item_id)
    if ecosystems is not None:
        correction.ecosystems = list(ecosystems)
    if kind is not None:
        correction.kind = kind
    if deadline is not None:
        correction.deadline = deadline
    if event_date is not None:
        correction.event_date = event_date
    correction.author, correction.at = author, utcnow()
    session.add(correction)
    for name in ("ecosystems", "kind", "deadline", "event_date"):
        if getattr(correction, name) is not None:
            setattr(item, name, getattr(correction, name))
    item.corrected = True
    session.add(item)
    return correction


@dataclass
class ReclassifyReport:
    seen: int = 0
    changed: int = 0
    corrected_kept: int = 0


def _batches(session: Session, *, source: str | None, size: int) -> Iterator[list[Item]]:
    last_id = 0
    while True:
        query = select(Item).where(col(Item.id) > last_id).order_by(col(Item.id)).limit(size)
        if source:
            query = query.where(Item.source_id == source)
        batch = list(session.exec(query))
        if not batch:
            return
        yield batch
        last_id = batch[-1].id or last_id


def reclassify(
    *,
    engine: Engine | None = None,
    classifier: Classifier | None = None,
    source: str | None = None,
    batch_size: int = 500,
) -> ReclassifyReport:
    """Re-run the classifier over stored items (e.g. after a taxonomy change), one batch per commit."""
    classifier = classifier or Classifier.from_settings()
    report = ReclassifyReport()
    with session_scope(engine) as session:
        for batch in _batches(session, source=source, size=batch_size):
            ids = [item.id for item in batch]
            corrections = {
                c.item_id: c for c in session.exec(select(Correction).where(col(Correction.item_id).in_(ids)))
            }
            for item in batch:
                report.seen += 1
                correction = corrections.get(item.id or -1)
                report.corrected_kept += correction is not None
                if apply_classification(
                    item, classifier.classify(document_from_item(item)), correction=correction
                ):
                    item.updated_at = utcnow()
                    session.add(item)
                    report.changed += 1
            session.commit()
    return report


def _export_deadlines(item: Item) -> list[str] | None:
    """Deadlines an adapter read from structured fields: those kept in ``extra``, or all of them for
    portal items (identifier set), whose deadlines come from structured fields; None otherwise."""
    if (item.extra or {}).get("structured_deadlines") or item.identifier:
        return [day.isoformat() for day in sorted(set(_structured_deadlines(item)))] or None
    return None


def corrections_export(*, engine: Engine | None = None) -> Iterator[dict[str, Any]]:
    """Labelled records (dev.jsonl format) from corrections joined to their items.

    Fields the admin did not correct take the item's current (reviewed) values.
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(Correction, Item).where(Correction.item_id == Item.id).order_by(col(Correction.item_id))
        )
        for correction, item in rows:
            deadline = correction.deadline or (
                min(_structured_deadlines(item)) if item.deadlines else item.deadline
            )
            event_date = correction.event_date or item.event_date
            published = _day(item.published_at)
            gold: dict[str, Any] = {
                "ecosystems": list(
                    correction.ecosystems if correction.ecosystems is not None else item.ecosystems
                ),
                "kind": correction.kind or item.kind,
                "deadline": deadline.isoformat() if deadline else None,
            }
            if event_date:
                gold["event_date"] = event_date.isoformat()
            yield {
                "id": f"{item.source_id}:{item.guid}",
                "source": item.source_id,
                "url": item.url,
                "title": item.title,
                "text": item.text,
                "identifier": item.identifier,
                "published": published.isoformat() if published else None,
                "deadlines": _export_deadlines(item),
                "gold": gold,
            }
