"""One Jinja2 environment for every web page (public and admin), over ``templates/web/``.

Autoescape is on for every HTML/XML template, so anything a source wrote is text unless a view
passes it through the sanitizer first. ``render()`` gives each template the same context: the
request, the interface language and ``t()`` for it, the CSRF token helper (from
``watcher.web.security`` when it provides one), ecosystem names and date formatting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from watcher.settings import PROJECT_ROOT
from watcher.web import i18n

TEMPLATES_DIR = PROJECT_ROOT / "templates" / "web"
STATIC_DIR = PROJECT_ROOT / "watcher" / "web" / "static"
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600

MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "it": ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
}


def format_date(value: date | datetime | None, language: str = "en") -> str:
    """``12 Mar 2026`` / ``12 mar 2026``; empty for None (templates show a dash themselves)."""
    if value is None:
        return ""
    months = MONTHS.get(language, MONTHS["en"])
    return f"{value.day} {months[value.month - 1]} {value.year}"


def _environment(strict: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml", "atom"], default_for_string=True),
        undefined=StrictUndefined if strict else Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = format_date
    return env


@lru_cache(maxsize=2)
def get_templates(strict: bool = False) -> Jinja2Templates:
    """The shared templates object (adds ``url_for`` to the environment)."""
    return Jinja2Templates(env=_environment(strict))


def templates(request: Request | None = None) -> Jinja2Templates:
    """The templates object for ``request``'s app (one per process; the request is for symmetry)."""
    return get_templates()


def _security_helper(name: str) -> Callable[..., Any] | None:
    """A helper from the security module, if it defines it (it is written alongside this one)."""
    try:
        module = importlib.import_module("watcher.web.security")
    except ImportError:
        return None
    helper = getattr(module, name, None)
    return helper if callable(helper) else None


def csrf_token(request: Request) -> str:
    """The CSRF token to embed in a form (empty when the security module does not issue one)."""
    helper = _security_helper("csrf_token")
    return str(helper(request)) if helper else ""


def safe_url(value: str | None) -> str:
    """An http(s) URL as given, anything else (``javascript:``, ``data:``) as an empty string."""
    text = (value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else ""


def _relative(request: Request, **params: str) -> str:
    """This page's path and query with ``params`` replaced (relative, so it survives a proxy)."""
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}" if url.query else url.path


def base_context(request: Request) -> dict[str, Any]:
    """What every page gets: language, ``t``, CSRF helper, names and formatting."""
    language = i18n.request_language(request)
    return {
        "request": request,
        "lang": language,
        "languages": i18n.LANGUAGES,
        "t": i18n.translator(language),
        "csrf_token": lambda: csrf_token(request),
        "ecosystem_name": lambda slug: i18n.ecosystem_name(slug, language),
        "ecosystem_slugs": i18n.ECOSYSTEM_SLUGS,
        "fmt_date": lambda value: format_date(value, language),
        "safe_url": safe_url,
        "lang_url": lambda code: _relative(request, lang=code),
    }


def render(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` with the base context plus ``context``; remembers an explicit ``?lang=`` choice."""
    full = base_context(request)
    full.update(context)
    response = templates(request).TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    chosen = i18n.normalise_language(request.query_params.get("lang"))
    if chosen and chosen != request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(
            i18n.LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax", httponly=True
        )
    return response
