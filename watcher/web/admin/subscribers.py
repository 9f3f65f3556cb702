"""Subscribers: search, preferences and topics (every change in the consent log), suppress/unsuppress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_
from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import STATUSES, ConsentLog, Subscriber, Topic, TopicFollow
from subscribers.outbox import cancel_suppressed
from subscribers.preferences import preferences_of
from watcher.web.admin.common import MAX_DB_ID, DbId, admin_page, get_db, redirect, settings_of
from watcher.web.admin.people import explain, form_dict, origin, preferences_from
from watcher.web.i18n import ECOSYSTEM_SLUGS

CONSENT_SHOWN = 50


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise HTTPException(404, detail=f"No subscriber with id {subscriber_id}.")
    return subscriber


def search(session: Session, *, q: str, status: str, page: int, size: int) -> list[Subscriber]:
    query = select(Subscriber).order_by(col(Subscriber.created_at).desc(), col(Subscriber.id).desc())
    if q:
        like = f"%{q}%"
        query = query.where(or_(col(Subscriber.email).ilike(like), col(Subscriber.name).ilike(like)))
    if status in STATUSES:
        query = query.where(Subscriber.status == status)
    return list(session.exec(query.offset((page - 1) * size).limit(size)).all())


def build_router() -> APIRouter:
    router = APIRouter(prefix="/subscribers")

    @router.get("", response_class=HTMLResponse)
    def list_page(
        request: Request,
        session: Annotated[Session, Depends(get_db)],
        q: str = "",
        status: str = "",
        page: int = 1,
    ) -> HTMLResponse:
        q, page = q.strip()[:200], max(1, min(page, 10_000))
        size = settings_of(request).admin_page_size
        rows = search(session, q=q, status=status, page=page, size=size)
        topics = session.exec(select(Topic).where(col(Topic.active).is_(True)).order_by(Topic.name)).all()
        return admin_page(
            request,
            "subscribers.html",
            section="subscribers",
            rows=rows,
            q=q,
            status=status,
            statuses=STATUSES,
            page=page,
            page_size=size,
            topics=topics,
        )

    def detail(
        request: Request,
        session: Session,
        subscriber: Subscriber,
        *,
        status: int = 200,
        error: str | None = None,
    ) -> HTMLResponse:
        followed = set(
            session.exec(select(TopicFollow.topic_id).where(TopicFollow.subscriber_id == subscriber.id)).all()
        )
        consent = session.exec(
            select(ConsentLog)
            .where(ConsentLog.subscriber_id == subscriber.id)
            .order_by(col(ConsentLog.at).desc(), col(ConsentLog.id).desc())
            .limit(CONSENT_SHOWN)
        ).all()
        return admin_page(
            request,
            "subscriber.html",
            section="subscribers",
            status_code=status,
            error=error,
            subscriber=subscriber,
            prefs=preferences_of(subscriber),
            topics=session.exec(select(Topic)).all(),
            followed=followed,
            consent=consent,
            slugs=ECOSYSTEM_SLUGS,
        )

    @router.get("/{subscriber_id}", response_class=HTMLResponse)
    def detail_page(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> HTMLResponse:
        return detail(request, session, get_subscriber(session, subscriber_id))

    @router.post("/{subscriber_id}/preferences")
    async def preferences(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> Response:
        subscriber = get_subscriber(session, subscriber_id)
        try:
            prefs = preferences_from(await form_dict(request))
        except ValidationError as error:
            return detail(request, session, subscriber, status=400, error=f"Not saved: {explain(error)}")
        except ValueError as error:
            return detail(request, session, subscriber, status=400, error=f"Not saved: {error}")
        service.update_preferences(session, subscriber, prefs, origin=origin(request))
        session.commit()
        return redirect(
            request, f"/admin/subscribers/{subscriber_id}", "Preferences saved (consent log updated)."
        )

    @router.post("/{subscriber_id}/topics")
    async def topics(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> Response:
        subscriber = get_subscriber(session, subscriber_id)
        raw = (await request.form()).getlist("topic_ids")
        ids = [int(v) for v in raw if isinstance(v, str) and v.isdigit() and int(v) <= MAX_DB_ID]
        try:
            service.set_topics(session, subscriber, ids, origin=origin(request))
        except ValueError as error:
            session.rollback()
            return detail(request, session, subscriber, status=400, error=str(error))
        session.commit()
        return redirect(request, f"/admin/subscribers/{subscriber_id}", "Topics saved (consent log updated).")

    @router.post("/{subscriber_id}/status")
    def set_status(
        request: Request,
        subscriber_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        action: Annotated[str, Form(max_length=20)],
    ) -> Response:
        subscriber = get_subscriber(session, subscriber_id)
        if action == "suppress":
            service.set_status(session, subscriber, "suppressed", origin=origin(request))
            cancelled = cancel_suppressed(session, subscriber_id=subscriber.id)
            message = f"Suppressed; {cancelled} queued message(s) cancelled."
        elif action == "unsuppress":
            if subscriber.status != "suppressed":
                return detail(
                    request, session, subscriber, status=400, error="This subscriber is not suppressed."
                )
            target = "active" if subscriber.confirmed_at else "pending"
            subscriber.hard_bounces = 0
            service.set_status(session, subscriber, target, origin=origin(request))
            message = f"Unsuppressed: now {target}."
        else:
            return detail(request, session, subscriber, status=400, error=f"Unknown action {action!r}.")
        session.commit()
        return redirect(request, f"/admin/subscribers/{subscriber_id}", message)

    return router
