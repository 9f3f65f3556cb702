"""Items: the review queue, reclassification (recorded as a Correction), duplicates, hide and pin."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, select

from watcher.classify.storage import record_correction
from watcher.models import Correction, Item
from watcher.normalize.sanitize import sanitize_html
from watcher.settings import Settings
from watcher.web.admin.common import MAX_DB_ID, DbId, admin_page, get_db, redirect, settings_of
from watcher.web.i18n import ECOSYSTEM_SLUGS

KINDS = ("call", "event", "news")
VIEWS = {
    "queue": "Review queue (uncategorised or low confidence)",
    "newest": "Newest",
    "uncategorised": "Uncategorised",
    "low": "Low confidence",
    "pinned": "Pinned",
    "hidden": "Hidden",
}
QUEUE_SCAN = 10  # the queue looks at page_size × this newest uncorrected items for low scores
NOTE_MAX = 2000


def best_score(item: Item) -> float:
    return max((float(v) for v in (item.scores or {}).values()), default=0.0)


def is_low_confidence(item: Item, settings: Settings) -> bool:
    limit = settings.classify_threshold * settings.review_low_confidence_margin
    return bool(item.ecosystems) and best_score(item) < limit


def list_items(session: Session, settings: Settings, *, view: str, q: str, page: int) -> list[Item]:
    size = settings.admin_page_size
    query = select(Item).order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
    if q:
        like = f"%{q}%"
        query = query.where(or_(col(Item.title).ilike(like), col(Item.identifier).ilike(like)))
    uncategorised = cast(Item.ecosystems, String) == "[]"
    if view == "hidden":
        query = query.where(col(Item.hidden).is_(True))
    else:
        query = query.where(col(Item.hidden).is_(False))
    if view == "pinned":
        query = query.where(col(Item.pinned).is_(True))
    elif view == "uncategorised":
        query = query.where(uncategorised)
    elif view in ("queue", "low"):
        query = query.where(col(Item.corrected).is_(False))
        scanned = session.exec(query.limit(size * QUEUE_SCAN)).all()
        keep = [
            item
            for item in scanned
            if is_low_confidence(item, settings) or (view == "queue" and not item.ecosystems)
        ]
        return keep[(page - 1) * size : page * size]
    return list(session.exec(query.offset((page - 1) * size).limit(size)).all())


def _parse_date(value: str, label: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{label} must be a date like 2026-03-31, not {value[:40]!r}.") from None


def _get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(404, detail=f"No item with id {item_id}.")
    return item


def apply_correction(
    session: Session,
    item: Item,
    *,
    ecosystems: list[str],
    kind: str,
    deadline: date | None,
    event_date: date | None,
    author: str,
) -> None:
    """Record the admin's classification through the classifier's own path, so it survives re-polls.

    An empty date field means "no correction for this date": the classifier's value stays in charge.
    """
    assert item.id is not None
    record_correction(
        session,
        item.id,
        author=author,
        ecosystems=ecosystems,
        kind=kind,
        deadline=deadline,
        event_date=event_date,
    )
    item.updated_at = datetime.now(UTC)
    session.add(item)
    session.commit()


def item_html(item: Item) -> Markup:
    """The stored body, sanitised again on the way out: stored HTML is never trusted as is."""
    if not item.content_html:
        return Markup("")
    return Markup(sanitize_html(item.content_html, base_url=item.url))


def build_router() -> APIRouter:
    router = APIRouter(prefix="/items")

    @router.get("", response_class=HTMLResponse)
    def items(
        request: Request,
        session: Annotated[Session, Depends(get_db)],
        view: str = "queue",
        q: str = "",
        page: int = 1,
    ) -> HTMLResponse:
        view = view if view in VIEWS else "queue"
        q, page = q.strip()[:200], max(1, min(page, 10_000))
        rows = list_items(session, settings_of(request), view=view, q=q, page=page)
        return admin_page(
            request,
            "items.html",
            section="items",
            items=rows,
            view=view,
            views=VIEWS,
            q=q,
            page=page,
            page_size=settings_of(request).admin_page_size,
            best_score=best_score,
        )

    def detail(
        request: Request, session: Session, item: Item, *, status: int = 200, error: str | None = None
    ) -> HTMLResponse:
        correction = session.get(Correction, item.id)
        primary = session.get(Item, item.story_id) if item.story_id else None
        safe_url = item.url if item.url.lower().startswith(("http://", "https://")) else None
        return admin_page(
            request,
            "item.html",
            section="items",
            status_code=status,
            error=error,
            item=item,
            correction=correction,
            primary=primary,
            body=item_html(item),
            safe_url=safe_url,
            kinds=KINDS,
            slugs=ECOSYSTEM_SLUGS,
            best_score=best_score(item),
        )

    @router.get("/{item_id}", response_class=HTMLResponse)
    def item_page(
        request: Request, item_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> HTMLResponse:
        return detail(request, session, _get_item(session, item_id))

    @router.post("/{item_id}/reclassify")
    def reclassify(
        request: Request,
        item_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        kind: Annotated[str, Form(max_length=10)],
        ecosystems: Annotated[list[str] | None, Form(max_length=40)] = None,
        deadline: Annotated[str, Form(max_length=40)] = "",
        event_date: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        item = _get_item(session, item_id)
        chosen = list(dict.fromkeys(ecosystems or []))
        unknown = [slug for slug in chosen if slug not in ECOSYSTEM_SLUGS]
        try:
            if unknown:
                raise ValueError(f"Unknown ecosystem: {', '.join(unknown)[:200]}.")
            if kind not in KINDS:
                raise ValueError(f"Kind must be one of {', '.join(KINDS)}.")
            parsed_deadline = _parse_date(deadline, "Deadline")
            parsed_event = _parse_date(event_date, "Event date")
        except ValueError as error:
            return detail(request, session, item, status=400, error=str(error))
        author = request.state.admin.username
        apply_correction(
            session,
            item,
            ecosystems=chosen,
            kind=kind,
            deadline=parsed_deadline,
            event_date=parsed_event,
            author=author,
        )
        return redirect(
            request, f"/admin/items/{item_id}", "Classification saved; it overrides the classifier."
        )

    @router.post("/{item_id}/duplicate")
    def duplicate(
        request: Request,
        item_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        of_item: Annotated[str, Form(max_length=20)] = "",
    ) -> Response:
        item = _get_item(session, item_id)
        if not of_item.strip():
            item.story_id = None
            message = "No longer marked as a duplicate."
        else:
            target = (
                session.get(Item, int(of_item))
                if of_item.strip().isdigit() and int(of_item) <= MAX_DB_ID
                else None
            )
            if target is None or target.id == item.id:
                return detail(
                    request, session, item, status=400, error="Give the id of another existing item."
                )
            item.story_id = target.story_id or target.id
            message = f"Marked as a duplicate of item {item.story_id}."
        session.add(item)
        session.commit()
        return redirect(request, f"/admin/items/{item_id}", message)

    @router.post("/{item_id}/hide")
    def hide(
        request: Request,
        item_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        hidden: Annotated[bool, Form()] = False,
    ) -> Response:
        item = _get_item(session, item_id)
        item.hidden = hidden
        session.add(item)
        session.commit()
        message = "Hidden from the archive, feeds and mail." if hidden else "Visible again."
        return redirect(request, f"/admin/items/{item_id}", message)

    @router.post("/{item_id}/pin")
    def pin(
        request: Request,
        item_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        pinned: Annotated[bool, Form()] = False,
        note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    ) -> Response:
        item = _get_item(session, item_id)
        item.pinned = pinned
        item.editor_note = note.strip() or None
        session.add(item)
        session.commit()
        message = "Pinned for the next digest." if pinned else "Not pinned."
        return redirect(request, f"/admin/items/{item_id}", message)

    return router
