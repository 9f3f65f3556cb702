"""Subscribe form → confirmation email → confirmed page (double opt-in).

The answer to a valid form is always the same "check your inbox" page, whether the address is new,
pending, active or suppressed (``subscribers.service.subscribe`` behaves accordingly), so the form
cannot be used to learn who is subscribed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from subscribers import service
from subscribers.models import Topic
from subscribers.preferences import InvalidEmail
from subscribers.tokens import TokenError, TokenExpired, token_for
from watcher.db import get_engine
from watcher.settings import Settings
from watcher.web.public.common import client_origin, settings_of
from watcher.web.public.errors import PageError
from watcher.web.public.forms import FormResult, parse_preferences
from watcher.web.security import rate_limit, verify_csrf
from watcher.web.templating import render


def active_topics(session: Session) -> list[Topic]:
    return list(session.exec(select(Topic).where(col(Topic.active).is_(True)).order_by(col(Topic.name))))


def token_error_page(error: TokenError) -> PageError:
    if isinstance(error, TokenExpired):
        return PageError(410, title_key="error.token_expired", text_key="error.token_expired_text")
    return PageError(400, title_key="error.token_invalid", text_key="error.token_invalid_text")


def _form_page(request: Request, *, topics: list[Topic], values: dict[str, Any],
               errors: list[str], status_code: int = 200) -> HTMLResponse:
    return render(request, "subscribe.html", topics=topics, values=values, errors=errors,
                  status_code=status_code)


def _subscribe(settings: Settings, form: FormData, origin: str) -> tuple[FormResult, list[Topic], bool]:
    """Validate and subscribe in one transaction; (form result, topics to show, done)."""
    with Session(get_engine(settings.resolved_database_url()), expire_on_commit=False) as session:
        topics = active_topics(session)
        result = parse_preferences(form, settings, topic_choices=[t.id for t in topics if t.id])
        if not result.values["email"]:
            result.errors.append("subscribe.invalid_email")
        if not result.values["consent"]:
            result.errors.append("subscribe.consent_required")
        if not result.ok:
            return result, topics, False
        assert result.prefs is not None
        try:
            service.subscribe(
                session,
                email=result.values["email"],
                name=result.values["name"] or None,
                language=result.prefs.language or "en",
                preferences=result.prefs,
                topic_ids=result.topic_ids,
                origin=origin,
            )
        except InvalidEmail:
            result.errors.append("subscribe.invalid_email")
            session.rollback()
            return result, topics, False
        except ValueError as error:
            result.errors.append(str(error)[:300])
            session.rollback()
            return result, topics, False
        session.commit()
        return result, topics, True


def _topics(settings: Settings) -> list[Topic]:
    with Session(get_engine(settings.resolved_database_url()), expire_on_commit=False) as session:
        return active_topics(session)


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    subscribe_limit = rate_limit("subscribe", per_minute=settings.subscribe_rate_per_minute)
    token_limit = rate_limit("token", per_minute=settings.token_rate_per_minute)

    @router.get("/subscribe", response_class=HTMLResponse)
    async def subscribe_form(request: Request) -> HTMLResponse:
        from watcher.web.i18n import request_language

        topics = await run_in_threadpool(_topics, settings_of(request))
        values = {"language": request_language(request), "frequency": "weekly"}
        return _form_page(request, topics=topics, values=values, errors=[])

    @router.post("/subscribe", dependencies=[Depends(subscribe_limit), Depends(verify_csrf)])
    async def subscribe_submit(request: Request) -> Response:
        form = await request.form()
        result, topics, done = await run_in_threadpool(
            _subscribe, settings_of(request), form, client_origin(request)
        )
        if done:
            return RedirectResponse("/subscribe/check", status_code=303)
        status = 413 if "subscribe.too_long" in result.errors else 400
        return _form_page(request, topics=topics, values=result.values, errors=result.errors,
                          status_code=status)

    @router.get("/subscribe/check", response_class=HTMLResponse)
    def check_inbox(request: Request) -> HTMLResponse:
        return render(request, "subscribe_check.html")

    @router.get("/confirm/{token}", response_class=HTMLResponse, dependencies=[Depends(token_limit)])
    def confirm(token: str, request: Request) -> HTMLResponse:
        engine = get_engine(settings_of(request).resolved_database_url())
        with Session(engine, expire_on_commit=False) as session:
            try:
                subscriber = service.confirm(session, token)
            except TokenError as error:
                raise token_error_page(error) from None
            preferences_url = f"/preferences/{token_for(subscriber, 'preferences')}"
            session.commit()
        return render(request, "subscribe_confirmed.html", preferences_url=preferences_url)

    return router
