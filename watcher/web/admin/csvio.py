"""Subscribers CSV export and import.

Import goes through ``subscribers.service.subscribe`` row by row, so each address is validated and
its consent logged exactly as on the public form; a bad row is reported and skipped, never fatal.
Without "consent already given" every new address gets the opt-in email first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import Subscriber, Topic, TopicFollow
from subscribers.preferences import PreferencesInput
from watcher.web.admin.common import MAX_DB_ID, PRIVATE_HEADERS, get_db, redirect
from watcher.web.admin.people import explain, origin

COLUMNS = ("email", "name", "language", "status", "frequency", "ecosystems", "kinds", "topics", "created_at")
MAX_IMPORT_ROWS = 20_000
ERRORS_SHOWN = 5


def _cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading = + - @ becomes text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(session: Session) -> Iterator[str]:
    topic_names = {t.id: t.name for t in session.exec(select(Topic)).all()}
    follows: dict[int, list[str]] = {}
    for subscriber_id, topic_id in session.exec(
        select(TopicFollow.subscriber_id, TopicFollow.topic_id)
    ).all():
        follows.setdefault(subscriber_id, []).append(topic_names.get(topic_id, str(topic_id)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for s in session.exec(select(Subscriber).order_by(col(Subscriber.id))):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    s.email,
                    s.name,
                    s.language,
                    s.status,
                    s.frequency,
                    " ".join(s.ecosystems),
                    " ".join(s.kinds),
                    "; ".join(sorted(follows.get(s.id or 0, []))),
                    s.created_at.isoformat(),
                )
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


@dataclass
class ImportReport:
    added: int = 0
    followed: int = 0
    errors: list[str] = field(default_factory=list)

    def message(self) -> str:
        text = f"Imported {self.added} address(es)"
        if self.followed:
            text += f", {self.followed} now follow the topic"
        if self.errors:
            text += f"; {len(self.errors)} row(s) skipped: " + " | ".join(self.errors[:ERRORS_SHOWN])
        return text + "."


def import_csv(
    session: Session, text: str, *, confirmed: bool, topic_id: int | None, origin: str
) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        report.errors.append("the first line must be a header with an 'email' column")
        return report
    imported: list[int] = []
    for number, raw in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            report.errors.append(f"stopped after {MAX_IMPORT_ROWS} rows")
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        try:
            prefs = PreferencesInput.model_validate(
                {"ecosystems": row.get("ecosystems", "").split(), "kinds": row.get("kinds", "").split()}
            )
            with session.begin_nested():
                subscriber = service.subscribe(
                    session,
                    email=row.get("email", ""),
                    name=row.get("name") or None,
                    language=row.get("language") or "en",
                    preferences=prefs,
                    origin=origin,
                    confirmed=confirmed,
                )
        except ValidationError as error:
            report.errors.append(f"line {number}: {explain(error)}"[:200])
            continue
        except ValueError as error:
            report.errors.append(f"line {number}: {error}"[:200])
            continue
        report.added += 1
        if subscriber.id is not None:
            imported.append(subscriber.id)
    if topic_id is not None and imported:
        report.followed = service.follow_topics(session, imported, topic_id, origin=origin)
    return report


def build_router() -> APIRouter:
    router = APIRouter(prefix="/subscribers")

    @router.get("/export.csv")
    def export(session: Annotated[Session, Depends(get_db)]) -> StreamingResponse:
        return StreamingResponse(
            export_rows(session),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="subscribers.csv"', **PRIVATE_HEADERS},
        )

    @router.post("/import")
    async def import_page(
        request: Request,
        session: Annotated[Session, Depends(get_db)],
        file: UploadFile,
        confirmed: Annotated[bool, Form()] = False,
        topic_id: Annotated[str, Form(max_length=20)] = "",
    ) -> Response:
        data = await file.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return redirect(
                request,
                "/admin/subscribers",
                "The file is not UTF-8 text (save it as CSV UTF-8).",
                kind="error",
            )
        topic = int(topic_id) if topic_id.isdigit() and int(topic_id) <= MAX_DB_ID else None
        if topic is not None and session.get(Topic, topic) is None:
            return redirect(request, "/admin/subscribers", f"Unknown topic {topic}.", kind="error")
        report = import_csv(
            session, text, confirmed=confirmed, topic_id=topic, origin=origin(request) + " import"
        )
        session.commit()
        kind = "error" if report.errors and not report.added else "info"
        return redirect(request, "/admin/subscribers", report.message(), kind=kind)

    return router
