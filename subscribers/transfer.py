"""CSV/JSON import and export of subscribers (the admin's bulk tools).

Export writes one flat row per subscriber (lists joined with ";"), which imports back unchanged.
Import validates each row completely before writing it, so a bad row is reported with its line
number and skipped while the others go in; consent is recorded with the import's origin.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import Subscriber
from subscribers.preferences import PREFERENCE_FIELDS, PreferencesInput, normalise_email

COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "language",
    "status",
    "timezone",
    *PREFERENCE_FIELDS,
    "created_at",
    "confirmed_at",
)
LIST_SEPARATOR = ";"


@dataclass
class ImportResult:
    added: int = 0
    existing: int = 0
    errors: list[str] = field(default_factory=list)


def export_rows(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    statement = select(Subscriber).order_by(col(Subscriber.id))
    if status:
        statement = statement.where(Subscriber.status == status)
    rows = []
    for subscriber in session.exec(statement):
        row: dict[str, Any] = {}
        for name in COLUMNS:
            value = getattr(subscriber, name)
            row[name] = value.isoformat() if isinstance(value, datetime) else value
        rows.append(row)
    return rows


def _flat(value: Any) -> Any:
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return "" if value is None else value


def write_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _flat(v) for k, v in row.items()})
    return buffer.getvalue()


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or index, row) pairs from a CSV (header row required) or a JSON list of objects."""
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: a JSON list of subscriber objects is expected")
        for index, row in enumerate(data, start=1):
            yield index, row if isinstance(row, dict) else {"email": row}
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
            raise ValueError(f"{path}: the CSV needs a header row with an 'email' column")
        for row in reader:
            yield reader.line_num, {(k or "").strip().lower(): v for k, v in row.items()}


def _preferences(row: dict[str, Any]) -> PreferencesInput:
    wanted = set(PreferencesInput.model_fields) - {"language"}
    values = {k: v for k, v in row.items() if k in wanted and v not in (None, "")}
    return PreferencesInput.model_validate(values)


def import_rows(
    session: Session, rows: Iterable[tuple[int, dict[str, Any]]], *, origin: str, confirmed: bool
) -> ImportResult:
    """Subscribe every valid row; ``confirmed`` records consent given to the admin (no opt-in mail)."""
    result = ImportResult()
    for line, row in rows:
        try:
            email = normalise_email(str(row.get("email") or ""))
            prefs = _preferences(row)
            language = str(row.get("language") or "en").strip().lower()
            name = str(row.get("name") or "").strip() or None
            if session.exec(select(Subscriber.id).where(Subscriber.email == email)).first() is not None:
                result.existing += 1
                continue
            with session.begin_nested():
                service.subscribe(
                    session,
                    email=email,
                    name=name,
                    language=language,
                    preferences=prefs,
                    origin=origin,
                    confirmed=confirmed,
                )
            result.added += 1
        except (ValueError, ValidationError) as error:
            result.errors.append(f"row {line}: {_short(error)}")
    return result


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
    return str(error)
