"""The preference centre (reached by the signed link in every email) and unsubscribing.

Every page here is addressed by a token, never by an email address, so nothing reveals whether an
address is subscribed. ``POST /u/{token}`` needs no cookie and no CSRF token: RFC 8058 one-click
unsubscribe comes from the mail provider's servers (body ``List-Unsubscribe=One-Click``), and an
unsubscribe link is already a capability only its recipient holds.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from subscribers import service
from subscribers.models import Subscriber, TopicFollow
from subscribers.preferences import preferences_of
from subscribers.tokens import TokenError, subscriber_for_token, token_for
from watcher.db import get_engine
from watcher.settings import Settings
from watcher.web.public.common import client_origin, settings_of
from watcher.web.public.errors import PageError
from watcher.web.public.forms import form_values_from, parse_preferences
from watcher.web.public.subscribe import active_topics, token_error_page
from watcher.web.security import rate_limit, verify_csrf
from watcher.web.templating import render

NO_STORE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
NOTICES = {"saved": "preferences.saved", "paused": "preferences.paused", "resumed": "preferences.resumed"}


def _session(settings: Settings) -> Session:
    return Session(get_engine(settings.resolved_database_url()), expire_on_commit=False)


def _subscriber(session: Session, token: str) -> Subscriber:
    try:
        return subscriber_for_token(session, token, "preferences")
    except TokenError as error:
        raise token_error_page(error) from None


def _followed(session: Session, subscriber: Subscriber) -> list[int]:
    statement = select(TopicFollow.topic_id).where(TopicFollow.subscriber_id == subscriber.id)
    return list(session.exec(statement))


def _page_context(session: Session, subscriber: Subscriber, token: str) -> dict[str, Any]:
    return {
        "subscriber": subscriber,
        "token": token,
        "topics": active_topics(session),
        "calendar_path": f"/calendar/s/{token_for(subscriber, 'calendar')}.ics",
        "unsubscribe_path": f"/u/{token_for(subscriber, 'unsubscribe')}",
    }


def _show(request: Request, token: str, *, errors: list[str], values: dict[str, Any] | None,
          status_code: int = 200) -> HTMLResponse:
    with _session(settings_of(request)) as session:
        subscriber = _subscriber(session, token)
        context = _page_context(session, subscriber, token)
        if values is None:
            values = form_values_from(
                preferences_of(subscriber),
                topic_ids=_followed(session, subscriber),
                extra={"language": subscriber.language},
            )
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, "preferences.html", values=values, errors=errors, notice=notice,
                  status_code=status_code, headers=dict(NO_STORE), **context)


def _save(settings: Settings, token: str, form: Any, origin: str) -> tuple[list[str], dict[str, Any]]:
    with _session(settings) as session:
        subscriber = _subscriber(session, token)
        topics = active_topics(session)
        result = parse_preferences(
            form, settings, base=preferences_of(subscriber), topic_choices=[t.id for t in topics if t.id]
        )
        if not result.ok:
            return result.errors, result.values
        assert result.prefs is not None
        service.update_preferences(session, subscriber, result.prefs, origin=origin)
        service.set_topics(session, subscriber, result.topic_ids, origin=origin)
        session.commit()
        return [], result.values


def _status_change(settings: Settings, token: str, action: str, origin: str) -> None:
    with _session(settings) as session:
        subscriber = _subscriber(session, token)
        if action == "pause":
            service.pause(session, subscriber, origin=origin)
        else:
            service.resume(session, subscriber, origin=origin)
        session.commit()


def _unsubscribe(settings: Settings, token: str, origin: str) -> bool:
    with _session(settings) as session:
        subscriber = service.unsubscribe(session, token, origin=origin)
        session.commit()
        return subscriber is not None


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    token_limit = Depends(rate_limit("token", per_minute=settings.token_rate_per_minute))
    csrf = Depends(verify_csrf)

    @router.get("/preferences/{token}", response_class=HTMLResponse, dependencies=[token_limit])
    def preferences_page(token: str, request: Request) -> HTMLResponse:
        return _show(request, token, errors=[], values=None)

    @router.post("/preferences/{token}", dependencies=[token_limit, csrf])
    async def preferences_save(token: str, request: Request) -> Response:
        form = await request.form()
        errors, values = await run_in_threadpool(
            _save, settings_of(request), token, form, client_origin(request)
        )
        if not errors:
            return RedirectResponse(f"/preferences/{token}?done=saved", status_code=303)
        status = 413 if "subscribe.too_long" in errors else 400
        return await run_in_threadpool(_show, request, token, errors=errors, values=values,
                                       status_code=status)

    @router.post("/preferences/{token}/pause", dependencies=[token_limit, csrf])
    def pause(token: str, request: Request) -> Response:
        _status_change(settings_of(request), token, "pause", client_origin(request))
        return RedirectResponse(f"/preferences/{token}?done=paused", status_code=303)

    @router.post("/preferences/{token}/resume", dependencies=[token_limit, csrf])
    def resume(token: str, request: Request) -> Response:
        _status_change(settings_of(request), token, "resume", client_origin(request))
        return RedirectResponse(f"/preferences/{token}?done=resumed", status_code=303)

    @router.get("/preferences/{token}/export", dependencies=[token_limit])
    def export(token: str, request: Request) -> Response:
        with _session(settings_of(request)) as session:
            data = service.export_data(session, _subscriber(session, token))
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        return Response(body, media_type="application/json", headers={
            "Content-Disposition": 'attachment; filename="cluster-watch-my-data.json"',
            "Cache-Control": "private, no-store",
        })

    @router.post("/preferences/{token}/delete", response_class=HTMLResponse, dependencies=[token_limit, csrf])
    def delete(token: str, request: Request) -> HTMLResponse:
        with _session(settings_of(request)) as session:
            service.erase(session, _subscriber(session, token))
            session.commit()
        return render(request, "preferences_deleted.html")

    @router.get("/u/{token}", response_class=HTMLResponse, dependencies=[token_limit])
    def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
        with _session(settings_of(request)) as session:
            try:
                subscriber_for_token(session, token, "unsubscribe")
            except TokenError as error:
                raise token_error_page(error) from None
        return render(request, "unsubscribe.html", token=token, headers=dict(NO_STORE))

    @router.post("/u/{token}", response_class=HTMLResponse, dependencies=[token_limit])
    def unsubscribe(token: str, request: Request) -> HTMLResponse:
        """Browser button and RFC 8058 one-click alike: no cookie, no CSRF token needed."""
        if not _unsubscribe(settings_of(request), token, client_origin(request)):
            raise PageError(400, title_key="error.token_invalid", text_key="error.token_invalid_text")
        return render(request, "unsubscribe_done.html")

    return router

