"""Topics: create, edit, retire; see who follows each; make many subscribers follow one at once.

Bulk assignment takes pasted addresses and/or an address domain (everyone at ``@chamber.example``,
e.g. a chamber's imported list); each new follow is written to the consent log by the service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import Subscriber, Topic, TopicFollow
from subscribers.preferences import TopicFilter, normalise_email
from watcher.web.admin.common import DbId, admin_page, get_db, redirect
from watcher.web.admin.people import explain, form_dict, origin, topic_filter_from
from watcher.web.i18n import ECOSYSTEM_SLUGS

NAME_MAX = 200
DESCRIPTION_MAX = 2000
FOLLOWERS_SHOWN = 500
BULK_MAX = 5000


def get_topic(session: Session, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise HTTPException(404, detail=f"No topic with id {topic_id}.")
    return topic


def _validated(data: dict[str, object]) -> tuple[str, str, TopicFilter]:
    name = str(data.get("name", "")).strip()
    description = str(data.get("description", "")).strip()
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"A topic needs a name of 1 to {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise ValueError(f"Description: at most {DESCRIPTION_MAX} characters.")
    return name, description, topic_filter_from(data)


def bulk_targets(session: Session, *, emails: str, domain: str) -> tuple[list[int], list[str]]:
    """Subscriber ids named by pasted addresses and/or an address domain; plus what was not found."""
    ids: list[int] = []
    missing: list[str] = []
    for raw in emails.replace(",", "\n").replace(";", "\n").split():
        try:
            address = normalise_email(raw)
        except ValueError:
            missing.append(raw[:80])
            continue
        found = session.exec(select(Subscriber.id).where(Subscriber.email == address)).first()
        if found is None:
            missing.append(address)
        else:
            ids.append(found)
    domain = domain.strip().lower().lstrip("@")
    if domain:
        pattern = f"%@{domain}"
        ids += [
            i for i in session.exec(select(Subscriber.id).where(col(Subscriber.email).like(pattern))) if i
        ]
    return list(dict.fromkeys(ids))[:BULK_MAX], missing


def build_router() -> APIRouter:
    router = APIRouter(prefix="/topics")

    @router.get("", response_class=HTMLResponse)
    def list_page(request: Request, session: Annotated[Session, Depends(get_db)]) -> HTMLResponse:
        counts = dict(
            session.exec(select(TopicFollow.topic_id, func.count()).group_by(col(TopicFollow.topic_id))).all()
        )
        topics = session.exec(select(Topic).order_by(col(Topic.active).desc(), Topic.name)).all()
        return admin_page(
            request,
            "topics.html",
            section="topics",
            topics=topics,
            counts=counts,
            slugs=ECOSYSTEM_SLUGS,
            filters=TopicFilter(),
        )

    def detail(
        request: Request, session: Session, topic: Topic, *, status: int = 200, error: str | None = None
    ) -> HTMLResponse:
        followers = session.exec(
            select(Subscriber)
            .join(TopicFollow, col(TopicFollow.subscriber_id) == col(Subscriber.id))
            .where(TopicFollow.topic_id == topic.id)
            .order_by(Subscriber.email)
            .limit(FOLLOWERS_SHOWN)
        ).all()
        return admin_page(
            request,
            "topic.html",
            section="topics",
            status_code=status,
            error=error,
            topic=topic,
            followers=followers,
            slugs=ECOSYSTEM_SLUGS,
            filters=TopicFilter.model_validate(topic.filters or {}),
        )

    @router.post("")
    async def create(request: Request, session: Annotated[Session, Depends(get_db)]) -> Response:
        try:
            name, description, filters = _validated(await form_dict(request))
        except ValidationError as error:
            return redirect(request, "/admin/topics", f"Not created: {explain(error)}", kind="error")
        except ValueError as error:
            return redirect(request, "/admin/topics", f"Not created: {error}", kind="error")
        if session.exec(select(Topic).where(Topic.name == name)).first() is not None:
            return redirect(request, "/admin/topics", f"A topic named {name!r} exists already.", kind="error")
        topic = Topic(name=name, description=description, filters=filters.model_dump())
        session.add(topic)
        session.commit()
        return redirect(request, f"/admin/topics/{topic.id}", f"Topic {name!r} created.")

    @router.get("/{topic_id}", response_class=HTMLResponse)
    def topic_page(
        request: Request, topic_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> HTMLResponse:
        return detail(request, session, get_topic(session, topic_id))

    @router.post("/{topic_id}")
    async def edit(
        request: Request, topic_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> Response:
        topic = get_topic(session, topic_id)
        try:
            name, description, filters = _validated(await form_dict(request))
        except ValidationError as error:
            return detail(request, session, topic, status=400, error=f"Not saved: {explain(error)}")
        except ValueError as error:
            return detail(request, session, topic, status=400, error=f"Not saved: {error}")
        clash = session.exec(select(Topic).where(Topic.name == name, Topic.id != topic_id)).first()
        if clash is not None:
            return detail(request, session, topic, status=400, error=f"Another topic is named {name!r}.")
        topic.name, topic.description, topic.filters = name, description, filters.model_dump()
        session.add(topic)
        session.commit()
        return redirect(request, f"/admin/topics/{topic_id}", "Topic saved.")

    @router.post("/{topic_id}/active")
    def set_active(
        request: Request,
        topic_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        active: Annotated[bool, Form()] = False,
    ) -> Response:
        topic = get_topic(session, topic_id)
        topic.active = active
        session.add(topic)
        session.commit()
        message = (
            "Topic restored." if active else "Topic retired: hidden from the public form; followers keep it."
        )
        return redirect(request, f"/admin/topics/{topic_id}", message)

    @router.post("/{topic_id}/assign")
    def assign(
        request: Request,
        topic_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        emails: Annotated[str, Form(max_length=200_000)] = "",
        domain: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        topic = get_topic(session, topic_id)
        ids, missing = bulk_targets(session, emails=emails, domain=domain)
        if not ids:
            return detail(
                request, session, topic, status=400, error="No known subscriber matches those addresses."
            )
        added = service.follow_topics(session, ids, topic_id, origin=origin(request))
        session.commit()
        message = f"{added} subscriber(s) now follow {topic.name!r} ({len(ids) - added} already did)."
        if missing:
            message += f" Not found: {', '.join(missing[:10])}{'…' if len(missing) > 10 else ''}."
        return redirect(request, f"/admin/topics/{topic_id}", message)

    return router
