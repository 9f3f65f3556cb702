"""Outbox: messages by state (pending / retry / failed / unknown / ...) with retry, cancel and resolve.

State changes go through ``subscribers.outbox.admin_action`` so the console cannot invent a
transition the sender does not expect; a refused one comes back as a clear message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from subscribers.outbox import ADMIN_ACTIONS, STATES, OutboxMessage, admin_action
from watcher.web.admin.common import DbId, admin_page, get_db, redirect, settings_of

DEFAULT_STATE = "failed"


def build_router() -> APIRouter:
    router = APIRouter(prefix="/outbox")

    @router.get("", response_class=HTMLResponse)
    def list_page(
        request: Request,
        session: Annotated[Session, Depends(get_db)],
        state: str = DEFAULT_STATE,
        page: int = 1,
    ) -> HTMLResponse:
        state = state if state in STATES else DEFAULT_STATE
        page = max(1, min(page, 10_000))
        size = settings_of(request).admin_page_size
        counts = dict(
            session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        )
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.state == state)
            .order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        actions = [name for name, (allowed, _new, _note) in ADMIN_ACTIONS.items() if state in allowed]
        return admin_page(
            request,
            "outbox.html",
            section="outbox",
            rows=rows,
            state=state,
            states=STATES,
            counts=counts,
            actions=actions,
            page=page,
            page_size=size,
        )

    @router.post("/{message_id}/action")
    def act(
        request: Request,
        message_id: DbId,
        session: Annotated[Session, Depends(get_db)],
        action: Annotated[str, Form(max_length=20)],
        back: Annotated[str, Form(max_length=20)] = DEFAULT_STATE,
    ) -> Response:
        target = f"/admin/outbox?state={back if back in STATES else DEFAULT_STATE}"
        try:
            row = admin_action(session, message_id=message_id, action=action, now=datetime.now(UTC))
        except ValueError as error:
            session.rollback()
            return redirect(request, target, f"Not done: {error}.", kind="error")
        session.commit()
        return redirect(request, target, f"Message {message_id} ({row.recipient}): now {row.state}.")

    return router
