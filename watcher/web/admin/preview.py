"""Digest preview for any subscriber, and "send me a test" to the signed-in admin's address.

The digest HTML is served on its own URL inside a sandboxed iframe with its own CSP: email HTML
carries inline styles (it must, for mail clients), which the console's strict CSP would refuse, and
the sandbox keeps it from running anything or reaching the console.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, select

from subscribers.digest import preview
from subscribers.drain import drain_sync
from subscribers.outbox import OutboxMessage, enqueue
from watcher.web.admin.common import DbId, admin_page, get_db, redirect, settings_of
from watcher.web.admin.subscribers import get_subscriber

PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox allow-popups"
)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/subscribers")

    @router.get("/{subscriber_id}/preview", response_class=HTMLResponse)
    def preview_page(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> HTMLResponse:
        subscriber = get_subscriber(session, subscriber_id)
        subject, text, _html = preview(session, subscriber.email, datetime.now(UTC))
        return admin_page(
            request, "preview.html", section="subscribers", subscriber=subscriber, subject=subject, text=text
        )

    @router.get("/{subscriber_id}/preview.html")
    def preview_html(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> Response:
        subscriber = get_subscriber(session, subscriber_id)
        _subject, _text, html = preview(session, subscriber.email, datetime.now(UTC))
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": PREVIEW_CSP,
                "X-Frame-Options": "SAMEORIGIN",
                "Cache-Control": "no-store",
            },
        )

    @router.post("/{subscriber_id}/test")
    def send_test(
        request: Request, subscriber_id: DbId, session: Annotated[Session, Depends(get_db)]
    ) -> Response:
        subscriber = get_subscriber(session, subscriber_id)
        back = f"/admin/subscribers/{subscriber_id}/preview"
        admin = request.state.admin
        if not admin.email:
            return redirect(
                request,
                back,
                "Your admin account has no email: run `watcher admin create NAME --email ...`.",
                kind="error",
            )
        settings = settings_of(request)
        subject, text, html = preview(session, subscriber.email, datetime.now(UTC))
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = admin.email
        message["Subject"] = f"[TEST for {subscriber.email}] {subject}"[:300]
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        key = f"admin-test:{subscriber_id}:{time.time_ns()}"
        enqueue(session, subscriber_id=None, message_key=key, kind="admin", message=message)
        session.commit()
        drain_sync(settings)
        session.expire_all()
        row = session.exec(select(OutboxMessage).where(OutboxMessage.message_key == key)).first()
        state = row.state if row is not None else "unknown"
        kind = "info" if state == "sent" else "error"
        return redirect(request, back, f"Test digest to {admin.email}: {state}.", kind=kind)

    return router
