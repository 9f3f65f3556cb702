"""What every admin page shares: the database session, flash messages, redirects and rendering.

Flash messages travel in a short-lived signed cookie across the POST → redirect → GET hop, so a
crafted link cannot put words in the console's mouth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session

from watcher.db import get_engine
from watcher.settings import Settings, get_settings
from watcher.web.templating import render

FLASH_COOKIE = "cw_admin_flash"
FLASH_MAX_AGE_S = 60
MAX_DB_ID = 2**31 - 1  # PostgreSQL integer: larger ids would be a database error, not a 404

DbId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
# Console pages name subscribers: never kept by browsers or proxies, never indexed.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def settings_of(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit()`` before they redirect."""
    engine = get_engine(settings_of(request).resolved_database_url())
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def _flash_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(settings_of(request).secret_key, salt="cw-admin-flash")


def redirect(
    request: Request, url: str, message: str | None = None, *, kind: str = "info"
) -> RedirectResponse:
    """303 to ``url`` (always a local path), carrying an optional flash message."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/admin"
    response = RedirectResponse(url, status_code=303)
    if message:
        value = _flash_serializer(request).dumps({"m": message[:500], "k": kind})
        response.set_cookie(
            FLASH_COOKIE, value, max_age=FLASH_MAX_AGE_S, httponly=True, samesite="lax", path="/admin"
        )
    return response


def pop_flash(request: Request) -> tuple[str | None, str]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None, "info"
    try:
        data = _flash_serializer(request).loads(raw)
    except BadSignature:
        return None, "info"
    return str(data.get("m", "")), str(data.get("k", "info"))


def admin_page(
    request: Request, name: str, *, status_code: int = 200, error: str | None = None, **context: Any
) -> HTMLResponse:
    """Render an admin template with the signed-in admin, the nav section and any flash message."""
    flash, kind = pop_flash(request)
    if error:
        flash, kind = error, "error"
    response = render(
        request,
        f"admin/{name}",
        status_code=status_code,
        admin=getattr(request.state, "admin", None),
        flash=flash,
        flash_kind=kind,
        **context,
    )
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/admin")
    response.headers.update(PRIVATE_HEADERS)
    return response


def local_next(value: str | None) -> str:
    """A safe post-login destination: an admin path on this site, never another host."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"
