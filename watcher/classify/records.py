"""JSON lines in and out of ``watcher classify`` / ``watcher eval`` (shapes fixed by DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from watcher.classify.dates import to_brussels_date
from watcher.classify.document import Classification, Document

if TYPE_CHECKING:
    from watcher.classify.classifier import Classifier


class RecordError(ValueError):
    """An input line that is not a usable item; the message says which field is wrong."""


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise RecordError(f"missing field {name!r}")
        return None
    if not isinstance(value, str | int):
        raise RecordError(f"field {name!r} must be a string")
    return str(value)


def _day(value: Any, name: str) -> date:
    try:
        return to_brussels_date(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise RecordError(f"field {name!r}: {error}") from error


def document_from_record(record: Any) -> Document:
    """A :class:`Document` from one decoded input line; :class:`RecordError` if it is unusable."""
    if not isinstance(record, dict):
        raise RecordError("expected a JSON object")
    identifier = _text(record, "id", required=True) or ""
    title = _text(record, "title")
    text = _text(record, "text")
    if not (title or text):
        raise RecordError("needs a 'title' or a 'text'")
    raw_deadlines = record.get("deadlines") or []
    if not isinstance(raw_deadlines, list):
        raw_deadlines = [raw_deadlines]
    published = record.get("published")
    programmes = record.get("programmes") or []
    return Document(
        id=identifier,
        title=title or "",
        text=text or "",
        url=_text(record, "url"),
        language=_text(record, "language"),
        identifier=_text(record, "identifier"),
        published=_day(published, "published") if published else None,
        deadlines=[_day(value, "deadlines") for value in raw_deadlines],
        default_kind=_text(record, "default_kind") or _text(record, "kind_hint"),
        programmes=[str(p) for p in programmes] if isinstance(programmes, list) else [],
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def classification_record(doc_id: str, result: Classification) -> dict[str, Any]:
    """The output object of one line of ``watcher classify``."""
    return {
        "id": doc_id,
        "ecosystems": result.ecosystems,
        "kind": result.kind,
        "deadline": _iso(result.deadline),
        "deadlines": [d.isoformat() for d in result.deadlines],
        "event_date": _iso(result.event_date),
        "language": result.language,
        "scores": result.scores,
        "why": result.why,
        "programmes": result.programmes,
        "tags": result.tags,
    }


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def classify_stream(lines: Iterable[str], out: TextIO, err: TextIO, classifier: Classifier) -> int:
    """Classify JSON lines; bad lines go to ``err`` as JSON errors. Returns the number of bad lines."""
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = document_from_record(json.loads(line))
        except (json.JSONDecodeError, RecordError) as error:
            bad += 1
            print(dumps({"line": number, "error": f"{type(error).__name__}: {error}"}), file=err)
            continue
        try:
            result = classifier.classify(doc)
        except Exception as error:  # one odd item must not stop the stream; report it and go on
            bad += 1
            print(
                dumps({"line": number, "id": doc.id, "error": f"{type(error).__name__}: {error}"}), file=err
            )
            continue
        print(dumps(classification_record(doc.id, result)), file=out)
    return bad
